"""Posting and closing daily questions, and the Monday report: what `virtsec tick` does.

Everything that must happen once across processes (a channel's question for a slot, its
report for a week) is claimed first (`bot.storage.claims`); no transaction is held open while
the channel (Slack) is called.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot import quiz, scheduling
from bot.daily.channel import Channel, ChannelFailed, ChannelRefused, PostView
from bot.daily.closing import Closer
from bot.daily.reports import Reporter
from bot.library import KnowledgeSource
from bot.results import Caller, Notice
from bot.scheduling import CLAIM_LEASE, DaySet
from bot.storage.claims import Claims, aware
from bot.storage.posts import Posts
from bot.storage.subscriptions import Subscriptions
from bot.storage.tables import ClaimStatus, DailyPost, Subscription

logger = logging.getLogger(__name__)


RECORD_TRIES = 3
MANUAL = "manual:"  # the slot of a `/virtsec post`: never retried by a tick


class Outcome(StrEnum):
    """What became of an attempt to post a question."""

    POSTED = "posted"
    BUSY = "busy"  # done already, or another process holds the claim
    FAILED = "failed"  # Slack said no: nothing was posted
    UNKNOWN = "unknown"  # sent, never confirmed


@dataclass(frozen=True)
class Posting:
    """An attempt to post a question."""

    outcome: Outcome
    post_id: int | None = None
    reason: str = ""
    refused: bool = False  # the channel takes no messages from the bot (invite it)


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
        self.closer = Closer(sessions, knowledge, channel, clock)
        self.reporter = Reporter(sessions, knowledge, channel, clock)

    def post_now(self, caller: Caller) -> Notice:
        """Post a new question in this channel now (the open one closes once it is there)."""
        with self.sessions.begin() as session:
            zone = Subscriptions(session).timezone(caller.team_id, caller.channel_id)
        today = scheduling.local_date(self.clock(), zone)
        slot = f"{MANUAL}{uuid.uuid4().hex}"
        posting = self._post(caller.team_id, caller.channel_id, slot, today)
        match posting.outcome:
            case Outcome.POSTED:
                return Notice("Posted a new question in this channel.")
            case Outcome.BUSY:
                return Notice("A question is being posted in this channel right now.")
            case Outcome.FAILED if posting.refused:
                return Notice(
                    f"Sorry, I couldn't post the question here ({posting.reason}).",
                    error=True,
                )
            case Outcome.FAILED:
                return Notice(
                    f"Slack did not take the question ({posting.reason}); nothing was posted "
                    "and the open question stays open. Please try again in a minute.",
                    error=True,
                )
            case _:
                return Notice(
                    "Slack did not confirm that the question was posted. Look in the channel "
                    "before you post again; the open question stays open.",
                    error=True,
                )

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
        if sub.weekly_report and self.reporter.report(sub, now):
            report.reports.append(sub.channel_id)
        self.closer.retry_reveals(sub.team_id, sub.channel_id)
        if sub.close_time is not None:
            with self.sessions.begin() as session:
                expired = [
                    p.id
                    for p in Posts(session).open(sub.team_id, sub.channel_id)
                    if scheduling.close_due(
                        now, aware(p.posted_at or p.claimed_at), sub.close_time, sub.timezone
                    )
                ]
            report.closed += [post_id for post_id in expired if self.closer.close(post_id)]
        due = scheduling.due_date(
            now, sub.post_time, sub.timezone, DaySet(sub.days), sub.starts_on, sub.close_time
        )
        if due is not None:
            posting = self._post(sub.team_id, sub.channel_id, due.isoformat(), due)
            if posting.outcome == Outcome.POSTED and posting.post_id is not None:
                report.posted.append(Posted(sub.team_id, sub.channel_id, posting.post_id))
            elif posting.outcome in (Outcome.FAILED, Outcome.UNKNOWN):
                report.failed.append(sub.channel_id)

    def _post(self, team_id: str, channel_id: str, slot: str, local_date: date) -> Posting:
        """Claim a slot, post its question, record it, then close the one before (only once
        its successor is in the channel)."""
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
                return Posting(Outcome.BUSY)  # posted already, or another process is on it
            post = posts.get(post_id)
            assert post is not None
            question_id = post.question_id
        # the question may have left the knowledge base (reload) since it was claimed
        question = kb.questions.get(question_id) or quiz.choose_question(kb, {}, slot)
        view = PostView(team_id, channel_id, post_id, question, 0)
        with self.sessions.begin() as session:
            if not Claims(session, DailyPost, CLAIM_LEASE).sending(post_id, token):
                return Posting(Outcome.BUSY)  # our lease ran out and another process took it
        try:
            ts = self.channel.post_question(view)
        except Exception as exc:
            return self._not_posted(channel_id, slot, post_id, token, exc)
        older = self._record_posted(post_id, token, ts, question.id)
        for old in older:
            self.closer.close(old)
        return Posting(Outcome.POSTED, post_id)

    def _record_posted(self, post_id: int, token: str, ts: str, question_id: str) -> list[int]:
        """Record that a question is in the channel (a few tries: without it, its buttons
        take no answers); the open questions it follows."""
        for attempt in range(RECORD_TRIES):
            try:
                with self.sessions.begin() as session:
                    posts = Posts(session)
                    stored = posts.get(post_id)
                    assert stored is not None
                    stored.question_id = question_id  # a reload may have replaced it
                    Claims(session, DailyPost, CLAIM_LEASE).done(post_id, token, ts, self.clock())
                    return [
                        p.id
                        for p in posts.open(stored.team_id, stored.channel_id)
                        if p.id < post_id
                    ]
            except SQLAlchemyError:
                if attempt + 1 == RECORD_TRIES:
                    logger.error(
                        "question %s is in channel message %s but could not be recorded; its "
                        "buttons answer nothing until daily_posts row %s is marked posted",
                        question_id,
                        ts,
                        post_id,
                    )
                    raise
                time.sleep(attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _not_posted(
        self, channel_id: str, slot: str, post_id: int, token: str, exc: Exception
    ) -> Posting:
        """A claim whose post failed: Slack said no (a scheduled slot is retried by the next
        tick unless the channel refuses the bot; a manual one is not), or the outcome is
        unknown (never sent again)."""
        now = self.clock()
        with self.sessions.begin() as session:
            claims = Claims(session, DailyPost, CLAIM_LEASE)
            if not isinstance(exc, ChannelFailed):  # sent, never confirmed: maybe on screen
                logger.error(
                    "posting the question in %s: Slack did not confirm (%s); this slot is not "
                    "posted again (an admin can check the channel and use /virtsec post)",
                    channel_id,
                    type(exc).__name__,
                )
                claims.give_up(post_id, token, ClaimStatus.UNKNOWN)
                return Posting(Outcome.UNKNOWN, post_id)
            # a manual post, or a channel that takes no messages from the bot, is not
            # retried (the refusal would repeat every minute); a scheduled slot Slack turned
            # down for now (a rate limit, say) is, by the next tick
            final = slot.startswith(MANUAL) or isinstance(exc, ChannelRefused)
            logger.warning(
                "posting the question in %s failed (%s)%s",
                channel_id,
                exc.reason,
                "" if final else "; the next tick retries",
            )
            if final:
                claims.give_up(post_id, token, ClaimStatus.FAILED)
            else:
                claims.release(post_id, token, now)
        return Posting(Outcome.FAILED, post_id, exc.reason, isinstance(exc, ChannelRefused))

    def close(self, post_id: int) -> bool:
        """Close a question and reveal its answer; False when it was not open."""
        return self.closer.close(post_id)
