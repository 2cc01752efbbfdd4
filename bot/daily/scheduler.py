"""Posting and closing daily questions, and the Monday report: what `virtsec tick` does.

Everything that must happen once across processes (a channel's question for a slot, its
report for a week) is claimed first (`bot.storage.claims`); no transaction is held open while
the channel (Slack) is called.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot import quiz, scheduling
from bot.daily.channel import Channel, PostView, Reveal, post_view
from bot.daily.weekly import build_report
from bot.library import KnowledgeSource
from bot.results import Caller, Notice
from bot.scheduling import CLAIM_LEASE, DaySet
from bot.scoring import Period
from bot.storage.answers import Answers
from bot.storage.claims import Claims, aware
from bot.storage.posts import Posts
from bot.storage.scores import Scores
from bot.storage.subscriptions import Subscriptions
from bot.storage.tables import DailyPost, Subscription, WeeklyReport

logger = logging.getLogger(__name__)


class Posted(NamedTuple):
    """A question a tick posted."""

    team_id: str
    channel_id: str
    post_id: int


@dataclass
class TickReport:
    """What a tick did."""

    posted: list[Posted] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # channels
    reports: list[str] = field(default_factory=list)  # channels that got a weekly report


class Scheduler:
    """Posts, closes and reports, once each, however many processes tick."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeSource,
        channel: Channel,
        clock: Callable[[], datetime],
    ):
        self.sessions = sessions
        self.knowledge = knowledge
        self.channel = channel
        self.clock = clock

    def post_now(self, caller: Caller) -> Notice:
        """Post a new question in this channel now (closing the open one)."""
        with self.sessions.begin() as session:
            zone = Subscriptions(session).timezone(caller.team_id, caller.channel_id)
        today = scheduling.local_date(self.clock(), zone)
        slot = f"manual:{uuid.uuid4().hex}"
        if self._post(caller.team_id, caller.channel_id, slot, today) is None:
            return Notice(
                "Sorry, I couldn't post the question. Check that I am in this "
                "channel (`/invite @virtsec`) and try again.",
                error=True,
            )
        return Notice("Posted a new question in this channel.")

    def tick(self, only: tuple[str, str] | None = None) -> TickReport:
        """Do whatever is due now: close questions, post today's, retry failed posts; in
        every subscribed channel, or `only` one (team, channel).

        Safe to run from several processes at once and to re-run: the (team, channel,
        slot) claim decides who posts.
        """
        report = TickReport()
        now = self.clock()
        with self.sessions.begin() as session:
            subs = [
                s
                for s in Subscriptions(session).all_enabled()
                if only is None or (s.team_id, s.channel_id) == only
            ]
        for sub in subs:
            try:
                self._tick_channel(sub, now, report)
            except Exception:
                logger.exception("daily question for %s/%s failed", sub.team_id, sub.channel_id)
                report.failed.append(sub.channel_id)
        return report

    def _tick_channel(self, sub: Subscription, now: datetime, report: TickReport) -> None:
        if sub.weekly_report and self._weekly(sub, now):
            report.reports.append(sub.channel_id)
        if sub.close_time is not None:
            with self.sessions.begin() as session:
                expired = [
                    p.id
                    for p in Posts(session).open(sub.team_id, sub.channel_id)
                    if scheduling.close_due(
                        now, aware(p.posted_at or p.claimed_at), sub.close_time, sub.timezone
                    )
                ]
            report.closed += [post_id for post_id in expired if self.close(post_id)]
        due = scheduling.due_date(
            now, sub.post_time, sub.timezone, DaySet(sub.days), sub.starts_on, sub.close_time
        )
        if due is not None:
            post_id = self._post(sub.team_id, sub.channel_id, due.isoformat(), due)
            if post_id is not None:
                report.posted.append(Posted(sub.team_id, sub.channel_id, post_id))

    def _post(self, team_id: str, channel_id: str, slot: str, local_date: date) -> int | None:
        """Claim a slot, close the open question, post, record; None if not posted now."""
        now = self.clock()
        token = uuid.uuid4().hex
        kb = self.knowledge.kb
        with self.sessions.begin() as session:
            posts = Posts(session)

            def new_post() -> dict[str, object]:
                used = posts.question_use_counts(team_id, channel_id)
                question = quiz.choose_question(kb, used, f"{team_id}/{channel_id}/{slot}")
                return {
                    "local_date": local_date,
                    "question_id": question.id,
                    "previous_post_id": posts.last_id(team_id, channel_id),
                    "shown_count": 0,
                }

            claims = Claims(session, DailyPost, CLAIM_LEASE)
            key = {"team_id": team_id, "channel_id": channel_id, "slot": slot}
            post_id = claims.acquire(key, new_post, token, now)
            if post_id is None:
                return None  # posted already, or another process is posting right now
            post = posts.get(post_id)
            assert post is not None
            question_id = post.question_id
            to_close = [p.id for p in posts.open(team_id, channel_id) if p.id != post_id]
        for old in to_close:
            self.close(old)
        # the question may have left the knowledge base (reload) since it was claimed
        question = kb.questions.get(question_id) or quiz.choose_question(kb, {}, slot)
        view = PostView(team_id, channel_id, post_id, question, 0)
        try:
            ts = self.channel.post_question(view)
        except Exception:
            logger.exception("posting the question in %s failed; the next tick retries", channel_id)
            with self.sessions.begin() as session:
                Claims(session, DailyPost, CLAIM_LEASE).release(post_id, token, now)
            return None
        with self.sessions.begin() as session:
            if question.id != question_id:
                stored = Posts(session).get(post_id)
                if stored is not None:
                    stored.question_id = question.id
            Claims(session, DailyPost, CLAIM_LEASE).done(post_id, token, ts, self.clock())
        return post_id

    def close(self, post_id: int) -> bool:
        """Close a question: show its result on the message and reveal it in a thread."""
        with self.sessions.begin() as session:
            posts, answers = Posts(session), Answers(session)
            if not posts.close(post_id, self.clock()):
                return False
            post = posts.get(post_id)  # loaded after the update: already closed
            assert post is not None
            counts = answers.choice_counts(post_id)
            view = post_view(self.knowledge.kb, post, sum(counts.values()))
            reveal = Reveal(view, counts, tuple(answers.correct_users(post_id)))
        if view.ts is None:
            return True
        try:
            self.channel.update_question(view, reveal)
            self.channel.post_reveal(reveal)
        except Exception:
            logger.exception("revealing post %s failed", post_id)
        return True

    def _weekly(self, sub: Subscription, now: datetime) -> bool:
        """On Monday at the posting time, report on the week before (once); True if posted."""
        local = now.astimezone(ZoneInfo(sub.timezone))
        if (
            local.weekday() != 0
            or scheduling.due_date(now, sub.post_time, sub.timezone, DaySet.WEEKDAYS) is None
        ):
            return False
        team_id, channel_id = sub.team_id, sub.channel_id
        week_start = local.date() - timedelta(days=7)
        end = week_start + timedelta(days=7)
        token = uuid.uuid4().hex
        with self.sessions.begin() as session:
            claims = Claims(session, WeeklyReport, CLAIM_LEASE)
            key = {"team_id": team_id, "channel_id": channel_id, "week_start": week_start}
            report_id = claims.acquire(key, dict, token, now)
            if report_id is None:
                return False
            scores = Scores(session)
            previous = scores.period_top(
                team_id, channel_id, Period.WEEK, week_start - timedelta(days=7), None
            )
            view = build_report(
                self.knowledge.kb,
                team_id,
                channel_id,
                week_start,
                scores.period_top(team_id, channel_id, Period.WEEK, week_start, None),
                dict(previous),
                Answers(session).daily_between(team_id, channel_id, week_start, end),
                Posts(session).count_between(team_id, channel_id, week_start, end),
            )
            if view.questions == 0:  # a quiet week: nothing to report, and nothing to retry
                claims.done(report_id, token, None, now)
                return False
        try:
            ts = self.channel.post_report(view)
        except Exception:
            logger.exception("weekly report for %s failed; the next tick retries", channel_id)
            with self.sessions.begin() as session:
                Claims(session, WeeklyReport, CLAIM_LEASE).release(report_id, token, now)
            return False
        with self.sessions.begin() as session:
            Claims(session, WeeklyReport, CLAIM_LEASE).done(report_id, token, ts, self.clock())
        return True
