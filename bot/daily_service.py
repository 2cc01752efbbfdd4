"""Daily practice questions, answers, scores and boards: the use cases, one transaction each.

The service talks to "the channel" only through the `Channel` protocol (Slack,
console, or a recording one in tests) and never holds a transaction open while
it waits on the network.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot import daily
from bot.commands import (
    Command,
    DailyOff,
    DailyOn,
    DailyStatus,
    Leaderboard,
    PostNow,
    Stats,
    WeeklyToggle,
)
from bot.knowledge_base import Concept, Question
from bot.services import Caller, Notice, Study
from bot.storage import answers as answers_sql
from bot.storage.db import core_transaction
from bot.storage.repository import Repository
from bot.storage.tables import DailyPost
from bot.weekly import WeeklyReportView, build_report

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
NO_POSTS = (
    "No daily questions in this channel yet. An admin can start them with "
    "`/virtsec daily on 09:00 Europe/Berlin`."
)


@dataclass(frozen=True)
class PostView:
    """A daily question as a channel shows it."""

    team_id: str
    channel_id: str
    post_id: int
    question: Question
    answer_count: int
    ts: str | None = None
    closed: bool = False


@dataclass(frozen=True)
class Reveal:
    """The answer, shown when a question closes."""

    post: PostView
    counts: dict[int, int]
    correct_users: tuple[str, ...]

    @property
    def total(self) -> int:
        """How many answered."""
        return sum(self.counts.values())


class Channel(Protocol):
    """Where daily questions appear: Slack, the console, or a test recorder."""

    def post_question(self, view: PostView) -> str:
        """Post a question; returns the message id (Slack ts)."""

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        """Refresh a posted question (answer count; closed with its result)."""

    def post_reveal(self, reveal: Reveal) -> None:
        """Reply to the question with the answer and how people did."""

    def post_report(self, report: WeeklyReportView) -> str:
        """Post the Monday team report; returns the message id."""


@dataclass(frozen=True)
class AnswerOutcome:
    """What happened to a click on a daily question's answer button."""

    status: str  # recorded | already | closed | invalid
    question: Question | None = None
    chosen: int = -1
    correct: bool = False
    concepts: tuple[Concept, ...] = ()


@dataclass(frozen=True)
class LeaderboardResult:
    """Top 10 of a channel for a period, plus the caller's own row."""

    period: str
    rows: tuple[daily.Ranked, ...]
    caller: daily.Ranked | None
    caller_id: str
    start: str = ""


@dataclass(frozen=True)
class StatsResult:
    """A person's record."""

    answered: int
    correct: int
    points: int
    current_streak: int
    best_streak: int
    practice_answered: int
    practice_correct: int
    weakest: tuple[tuple[Concept, int, int], ...]  # concept, right, answered
    mastery: tuple[tuple[Concept, float], ...] = ()  # practice memory per concept, 0..1
    due: int = 0  # practice questions due for review

    @property
    def accuracy(self) -> float:
        """Share of daily answers that were right (0..1)."""
        return self.correct / self.answered if self.answered else 0.0


@dataclass
class TickReport:
    """What a tick did."""

    posted: list[tuple[str, str, int]] = field(default_factory=list)  # team, channel, post
    closed: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)  # channels that got a weekly report


class Coalescer(Generic[K]):
    """Runs `action(key)` at most once per `interval` seconds per key; bursts merge."""

    def __init__(self, interval: float, action: Callable[[K], None]):
        self.interval = interval
        self._action = action
        self._lock = threading.Condition()
        self._pending: dict[K, threading.Timer] = {}
        self._last: dict[K, float] = {}
        self._running = 0

    def request(self, key: K) -> None:
        """Ask for the action; it runs soon, once for everything asked meanwhile."""
        with self._lock:
            if key in self._pending:
                return
            delay = max(0.0, self._last.get(key, 0.0) + self.interval - time.monotonic())
            timer = threading.Timer(delay, self._fire, [key])
            timer.daemon = True
            self._pending[key] = timer
            timer.start()

    def _fire(self, key: K) -> None:
        with self._lock:
            self._pending.pop(key, None)
            self._last[key] = time.monotonic()
            self._running += 1
        try:
            self._action(key)
        except Exception:  # a failed refresh must not kill the timer thread
            logger.exception("refreshing post %s failed", key)
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending (tests and shutdown)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._pending and not self._running, timeout=timeout
            )


class DailyService:
    """Schedules, posts, grades and ranks daily questions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        study: Study,
        channel: Channel,
        clock: Callable[[], datetime] | None = None,
        refresh_interval: float = 2.0,
    ):
        self.sessions = sessions
        self.study = study
        self.channel = channel
        self.clock = clock or (lambda: datetime.now(UTC))
        self.refresher: Coalescer[int] = Coalescer(refresh_interval, self.refresh_count)
        # what never changes about a post (team, channel, question, date, previous post),
        # so a click on PostgreSQL is one round trip; the status is checked as it writes
        self._posts: dict[int, answers_sql.PostRow] = {}

    # -- commands

    def execute(self, command: Command, caller: Caller) -> Notice | LeaderboardResult | StatsResult:
        """Run a daily-question command."""
        if isinstance(command, DailyOn):
            return self.subscribe(caller, command)
        if isinstance(command, DailyOff):
            return self.unsubscribe(caller)
        if isinstance(command, DailyStatus):
            return self.status(caller)
        if isinstance(command, PostNow):
            return self.post_now(caller)
        if isinstance(command, Leaderboard):
            return self.leaderboard(caller, command.period)
        if isinstance(command, Stats):
            return self.stats(caller)
        if isinstance(command, WeeklyToggle):
            return self.weekly_toggle(caller, command.enabled)
        raise TypeError(f"not a daily command: {command!r}")

    def subscribe(self, caller: Caller, command: DailyOn) -> Notice:
        """Start (or change) this channel's daily question."""
        zone = command.timezone or caller.timezone or "UTC"
        now = self.clock()
        with self.sessions.begin() as session:
            repo = Repository(session)
            repo.save_subscription(
                caller.team_id,
                caller.channel_id,
                post_time=f"{command.at:%H:%M}",
                timezone=zone,
                days=command.days,
                close_time=f"{command.close_at:%H:%M}" if command.close_at else None,
                user_id=caller.user_id,
                now=now,
            )
            when = self._next_time(
                repo,
                caller.team_id,
                caller.channel_id,
                now,
                f"{command.at:%H:%M}",
                zone,
                command.days,
            )
        closing = (
            f", closing at {command.close_at:%H:%M}"
            if command.close_at
            else ", open until the next one"
        )
        return Notice(
            f"Daily question on: {command.at:%H:%M} {zone}, "
            f"{'every day' if command.days == 'everyday' else 'Monday to Friday'}"
            f"{closing}. Next: {when:%a %d %b %H:%M %Z}."
        )

    def unsubscribe(self, caller: Caller) -> Notice:
        """Stop this channel's daily question."""
        with self.sessions.begin() as session:
            sub = Repository(session).subscription(caller.team_id, caller.channel_id)
            if sub is None or not sub.enabled:
                return Notice("This channel has no daily question to stop.")
            sub.enabled = False
            sub.updated_at = self.clock()
        return Notice("Daily question off for this channel. Scores are kept.")

    def weekly_toggle(self, caller: Caller, enabled: bool) -> Notice:
        """Turn the Monday report of this channel on or off."""
        with self.sessions.begin() as session:
            sub = Repository(session).subscription(caller.team_id, caller.channel_id)
            if sub is None or not sub.enabled:
                return Notice(
                    "The weekly report comes with the daily question: start it "
                    "with `/virtsec daily on 09:00 Europe/Berlin`."
                )
            sub.weekly_report = enabled
        return Notice(
            "Weekly team report on: every Monday at the daily question's time."
            if enabled
            else "Weekly team report off for this channel."
        )

    def status(self, caller: Caller) -> Notice:
        """This channel's schedule and next post time."""
        now = self.clock()
        with self.sessions.begin() as session:
            repo = Repository(session)
            sub = repo.subscription(caller.team_id, caller.channel_id)
            if sub is None or not sub.enabled:
                return Notice(
                    "No daily question in this channel. An admin can start one "
                    "with `/virtsec daily on 09:00 Europe/Berlin`."
                )
            when = self._next_time(
                repo, caller.team_id, caller.channel_id, now, sub.post_time, sub.timezone, sub.days
            )
            days = "every day" if sub.days == "everyday" else "Monday to Friday"
            close = f", closing at {sub.close_time}" if sub.close_time else ""
            return Notice(
                f"Daily question: {sub.post_time} {sub.timezone}, {days}{close}. "
                f"Next: {when:%a %d %b %H:%M %Z}."
            )

    def post_now(self, caller: Caller) -> Notice:
        """Post a new question in this channel now (closing the open one)."""
        now = self.clock()
        zone = self._zone(caller.team_id, caller.channel_id)
        post_id = self._post(
            caller.team_id, caller.channel_id, f"manual:{uuid.uuid4().hex}", self._today(now, zone)
        )
        if post_id is None:
            return Notice(
                "Sorry, I couldn't post the question. Check that I am in this "
                "channel (`/invite @virtsec`) and try again.",
                error=True,
            )
        return Notice("Posted a new question in this channel.")

    # -- the scheduler

    def tick(self) -> TickReport:
        """Do whatever is due now: close questions, post today's, retry failed posts.

        Safe to run from several processes at once and to re-run: the (team, channel,
        date) claim row decides who posts.
        """
        report = TickReport()
        now = self.clock()
        with self.sessions.begin() as session:
            subs = [
                (
                    s.team_id,
                    s.channel_id,
                    s.post_time,
                    s.timezone,
                    s.days,
                    s.close_time,
                    s.weekly_report,
                )
                for s in Repository(session).enabled_subscriptions()
            ]
        for team_id, channel_id, post_time, zone, days, close_time, weekly in subs:
            try:
                if weekly:
                    self._weekly(team_id, channel_id, post_time, zone, now, report)
                self._close_expired(team_id, channel_id, close_time, zone, now, report)
                due = daily.due_date(now, post_time, zone, days)
                if due is None:
                    continue
                post_id = self._post(team_id, channel_id, due.isoformat(), due)
                if post_id is not None:
                    report.posted.append((team_id, channel_id, post_id))
            except Exception:
                logger.exception("daily question for %s/%s failed", team_id, channel_id)
                report.failed.append(channel_id)
        return report

    def _weekly(
        self,
        team_id: str,
        channel_id: str,
        post_time: str,
        zone: str,
        now: datetime,
        report: TickReport,
    ) -> None:
        """On Monday at the posting time, report on the week before (once)."""
        local = now.astimezone(ZoneInfo(zone))
        if local.weekday() != 0 or daily.due_date(now, post_time, zone, "weekdays") is None:
            return
        week_start = local.date() - timedelta(days=7)
        token = uuid.uuid4().hex
        with self.sessions.begin() as session:
            repo = Repository(session)
            row = repo.report(team_id, channel_id, week_start)
            if row is not None:
                if row.status != "claimed" or now - _aware(row.claimed_at) < daily.CLAIM_LEASE:
                    return
                if not repo.retake_report(row.id, row.claim_token, token, now):
                    return
                report_id = row.id
            else:
                claimed = repo.claim_report(team_id, channel_id, week_start, token, now)
                if claimed is None:
                    return
                report_id = claimed.id
            end = week_start + timedelta(days=7)
            view = build_report(
                self.study.kb,
                team_id,
                channel_id,
                week_start,
                repo.all_period_points(team_id, channel_id, "week", week_start),
                dict(
                    repo.all_period_points(
                        team_id, channel_id, "week", week_start - timedelta(days=7)
                    )
                ),
                repo.week_answers(team_id, channel_id, week_start, end),
                repo.posts_between(team_id, channel_id, week_start, end),
            )
        if view.questions == 0:  # a quiet week: nothing to report, and nothing to retry
            with self.sessions.begin() as session:
                Repository(session).mark_report(report_id, token, None, "posted")
            return
        try:
            ts = self.channel.post_report(view)
        except Exception:
            logger.exception("weekly report for %s failed; the next tick retries", channel_id)
            with self.sessions.begin() as session:
                Repository(session).mark_report(
                    report_id, token, None, "claimed", now - daily.CLAIM_LEASE
                )
            return
        with self.sessions.begin() as session:
            Repository(session).mark_report(report_id, token, ts, "posted")
        report.reports.append(channel_id)

    def _close_expired(
        self,
        team_id: str,
        channel_id: str,
        close_time: str | None,
        zone: str,
        now: datetime,
        report: TickReport,
    ) -> None:
        if close_time is None:
            return
        with self.sessions.begin() as session:
            expired = [
                p.id
                for p in Repository(session).open_posts(team_id, channel_id)
                if daily.close_due(now, p.local_date, close_time, zone)
            ]
        for post_id in expired:
            if self.close(post_id):
                report.closed.append(post_id)

    def _post(self, team_id: str, channel_id: str, slot: str, local_date: date) -> int | None:
        """Claim a slot, close the open question, post, record; None if not posted now."""
        now = self.clock()
        token = uuid.uuid4().hex
        with self.sessions.begin() as session:
            repo = Repository(session)
            existing = repo.post_for_slot(team_id, channel_id, slot)
            if existing is not None:
                if (
                    existing.status != "claimed"
                    or now - _aware(existing.claimed_at) < daily.CLAIM_LEASE
                ):
                    return None  # posted already, or another process is posting right now
                if not repo.reclaim(existing.id, existing.claim_token, token, now):
                    return None
                post = existing
            else:
                question = daily.choose_question(
                    self.study.kb,
                    repo.question_use_counts(team_id, channel_id),
                    f"{team_id}/{channel_id}/{slot}",
                )
                claimed = repo.claim_post(
                    team_id=team_id,
                    channel_id=channel_id,
                    slot=slot,
                    local_date=local_date,
                    question_id=question.id,
                    token=token,
                    now=now,
                    previous_post_id=repo.last_post_id(team_id, channel_id),
                )
                if claimed is None:
                    return None
                post = claimed
            post_id, question_id = post.id, post.question_id
            to_close = [p.id for p in repo.open_posts(team_id, channel_id) if p.id != post_id]
        for old in to_close:
            self.close(old)
        known = self.study.kb.questions.get(question_id)
        # the question may have left the knowledge base (reload) since it was claimed
        question = known or daily.choose_question(self.study.kb, {}, slot)
        view = PostView(team_id, channel_id, post_id, question, 0)
        try:
            ts = self.channel.post_question(view)
        except Exception:
            logger.exception("posting the question in %s failed; the next tick retries", channel_id)
            with self.sessions.begin() as session:  # let the next tick retake the claim
                Repository(session).reclaim(post_id, token, token, now - daily.CLAIM_LEASE)
            return None
        with self.sessions.begin() as session:
            repo = Repository(session)
            if question.id != question_id:
                db_post = repo.post(post_id)
                if db_post is not None:
                    db_post.question_id = question.id
            repo.mark_posted(post_id, token, ts, self.clock())
        return post_id

    # -- answering

    def answer(self, team_id: str, user_id: str, value: str) -> AnswerOutcome:
        """Record a click; the first answer of each person counts, once."""
        post_text, _, choice_text = value.partition(":")
        if not (post_text.isdigit() and choice_text.isdigit()):
            return AnswerOutcome("invalid")
        post_id, choice = int(post_text), int(choice_text)
        now = self.clock()
        # on PostgreSQL the answer, score and points are written in one statement
        with core_transaction(self.sessions, single_statement_writes=True) as conn:
            checks_status = answers_sql.checks_open(conn)
            post = self._posts.get(post_id) if checks_status else None
            if post is None:
                post = answers_sql.read_post(conn, post_id)
                if checks_status and post is not None and post.status in answers_sql.OPEN_STATUSES:
                    if len(self._posts) >= 256:
                        self._posts.clear()
                    self._posts[post_id] = post
            question = self.study.kb.questions.get(post.question_id) if post else None
            if (
                post is None
                or post.team_id != team_id
                or question is None
                or not 0 <= choice < len(question.choices)
            ):
                return AnswerOutcome("invalid")
            concepts = self._concepts(question)
            correct = choice == question.answer_index
            closed = post.status not in answers_sql.OPEN_STATUSES
            recorded = False
            if not closed:
                week, month = (daily.period_bounds(p, post.local_date) for p in ("week", "month"))
                assert week is not None and month is not None
                recorded = answers_sql.record(
                    conn, post, user_id, choice, correct, now, week[0], month[0]
                )
                # if not: answered before, or (PostgreSQL, a remembered post) closed since
                closed = (
                    not recorded
                    and checks_status
                    and answers_sql.read_status(conn, post_id) not in answers_sql.OPEN_STATUSES
                )
            mine = None if recorded else answers_sql.read_answer(conn, post_id, user_id)
        if recorded:  # committed: the count on the post can be refreshed
            self.refresher.request(post_id)
            return AnswerOutcome("recorded", question, choice, correct, concepts)
        if closed:
            return AnswerOutcome(
                "closed", question, mine[0] if mine else -1, bool(mine and mine[1]), concepts
            )
        return AnswerOutcome(
            "already", question, mine[0] if mine else choice, bool(mine and mine[1]), concepts
        )

    def refresh_count(self, post_id: int) -> None:
        """Show the current answer count on the question (coalesced by the caller)."""
        with self.sessions.begin() as session:
            repo = Repository(session)
            post = repo.post(post_id)
            if post is None or post.status != "posted" or post.message_ts is None:
                return
            count = repo.answer_count(post_id)
            if count == post.shown_count:
                return
            repo.set_shown_count(post_id, count)
            view = replace(self._view(post), answer_count=count)
        self.channel.update_question(view)

    def close(self, post_id: int) -> bool:
        """Close a question: show its result on the message and reveal it in a thread."""
        with self.sessions.begin() as session:
            repo = Repository(session)
            if not repo.close_post(post_id, self.clock()):
                return False
            post = repo.post(post_id)  # loaded after the update: already closed
            assert post is not None
            counts = repo.choice_counts(post_id)
            view = replace(self._view(post, closed=True), answer_count=sum(counts.values()))
            reveal = Reveal(view, counts, tuple(repo.correct_users(post_id)))
        if view.ts is None:
            return True
        try:
            self.channel.update_question(view, reveal)
            self.channel.post_reveal(reveal)
        except Exception:
            logger.exception("revealing post %s failed", post_id)
        return True

    def home_channel(self, team_id: str, user_id: str) -> str | None:
        """The channel of the person's latest daily answer (their "home" board)."""
        with self.sessions.begin() as session:
            return Repository(session).latest_daily_channel(team_id, user_id)

    def next_post(self, team_id: str, channel_id: str) -> datetime | None:
        """When the channel's next daily question goes out, if it has a schedule."""
        now = self.clock()
        with self.sessions.begin() as session:
            repo = Repository(session)
            sub = repo.subscription(team_id, channel_id)
            if sub is None or not sub.enabled:
                return None
            return self._next_time(
                repo, team_id, channel_id, now, sub.post_time, sub.timezone, sub.days
            )

    def open_post_id(self, team_id: str, channel_id: str) -> int | None:
        """The newest open question in a channel."""
        with self.sessions.begin() as session:
            posts = Repository(session).open_posts(team_id, channel_id)
            return posts[-1].id if posts else None

    # -- boards

    def leaderboard(self, caller: Caller, period: str) -> LeaderboardResult | Notice:
        """Top 10 for the channel and the caller's own rank."""
        now = self.clock()
        with self.sessions.begin() as session:
            repo = Repository(session)
            if repo.last_post_id(caller.team_id, caller.channel_id) is None:
                return Notice(NO_POSTS)
            zone = self._zone_in(repo, caller.team_id, caller.channel_id)
            bounds = daily.period_bounds(period, self._today(now, zone))
            if bounds is None:
                top = daily.rank(repo.top_scores(caller.team_id, caller.channel_id, 10))
                mine = repo.score(caller.team_id, caller.channel_id, caller.user_id)
                me = None
                if mine is not None and mine.points > 0:
                    me = daily.Ranked(
                        repo.count_scoring_above(caller.team_id, caller.channel_id, mine.points)
                        + 1,
                        caller.user_id,
                        mine.points,
                    )
                return LeaderboardResult(period, tuple(top), me, caller.user_id)
            start = bounds[0]
            top = daily.rank(
                repo.top_period_scores(caller.team_id, caller.channel_id, period, start, 10)
            )
            points = repo.period_points(
                caller.team_id, caller.channel_id, period, start, caller.user_id
            )
            me = (
                daily.Ranked(
                    repo.count_period_above(
                        caller.team_id, caller.channel_id, period, start, points
                    )
                    + 1,
                    caller.user_id,
                    points,
                )
                if points
                else None
            )
            return LeaderboardResult(period, tuple(top), me, caller.user_id, start.isoformat())

    def stats(self, caller: Caller) -> StatsResult:
        """The caller's record in this channel and weakest concepts overall."""
        with self.sessions.begin() as session:
            repo = Repository(session)
            score = repo.score(caller.team_id, caller.channel_id, caller.user_id)
            latest = [
                (p.id, p.status == "posted")
                for p in repo.latest_posts(caller.team_id, caller.channel_id)
            ]
            answers = repo.user_answers(caller.team_id, caller.user_id)
        per_concept: dict[str, list[int]] = {}
        practice = [a for a in answers if a[2] == "practice"]
        for question_id, correct, _kind in answers:
            question = self.study.kb.questions.get(question_id)
            if question is None:
                continue
            for concept_id in question.concepts[:1]:
                right_total = per_concept.setdefault(concept_id, [0, 0])
                right_total[0] += int(correct)
                right_total[1] += 1
        concepts = self.study.kb.concepts
        weakest = sorted(
            (
                (concepts[c], rt[0], rt[1])
                for c, rt in per_concept.items()
                if c in concepts and rt[0] < rt[1]
            ),
            key=lambda x: (x[1] / x[2], -(x[2] - x[1]), x[0].id),
        )[:3]
        return StatsResult(
            answered=score.answered if score else 0,
            correct=score.correct if score else 0,
            points=score.points if score else 0,
            current_streak=daily.visible_streak(score.current_streak, score.streak_post_id, latest)
            if score
            else 0,
            best_streak=score.best_streak if score else 0,
            practice_answered=len(practice),
            practice_correct=sum(1 for a in practice if a[1]),
            weakest=tuple(weakest),
        )

    # -- helpers

    def _view(self, post: DailyPost, closed: bool = False) -> PostView:
        question = self.study.kb.questions.get(post.question_id)
        if question is None:
            raise LookupError(f"question {post.question_id} is no longer in the knowledge base")
        return PostView(
            post.team_id,
            post.channel_id,
            post.id,
            question,
            post.answer_count,
            post.message_ts,
            closed or post.status == "closed",
        )

    def _concepts(self, question: Question) -> tuple[Concept, ...]:
        kb = self.study.kb
        return tuple(kb.concepts[c] for c in question.concepts if c in kb.concepts)

    def _zone(self, team_id: str, channel_id: str) -> str:
        with self.sessions.begin() as session:
            return self._zone_in(Repository(session), team_id, channel_id)

    @staticmethod
    def _zone_in(repo: Repository, team_id: str, channel_id: str) -> str:
        sub = repo.subscription(team_id, channel_id)
        return sub.timezone if sub else "UTC"

    def _next_time(
        self,
        repo: Repository,
        team_id: str,
        channel_id: str,
        now: datetime,
        post_time: str,
        zone: str,
        days: str,
    ) -> datetime:
        """The channel's next post time: today's slot counts only if not posted yet."""
        posted = repo.post_for_slot(team_id, channel_id, self._today(now, zone).isoformat())
        return daily.next_post_time(now, post_time, zone, days, posted is not None)

    @staticmethod
    def _today(now: datetime, zone: str) -> date:
        return now.astimezone(ZoneInfo(zone)).date()


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
