"""The Monday team report: claimed once per channel and week, posted by one process."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot import scheduling
from bot.daily.channel import Channel, ChannelFailed
from bot.daily.weekly import build_report
from bot.learning import REPORTED_GAPS, GapKind
from bot.library import KnowledgeSource
from bot.results import Gap
from bot.scheduling import CLAIM_LEASE, DaySet
from bot.scoring import Period
from bot.storage.answers import Answers
from bot.storage.claims import Claims
from bot.storage.lookups import LookupLedger
from bot.storage.posts import Posts
from bot.storage.scores import Scores
from bot.storage.tables import ClaimStatus, Subscription, WeeklyReport

logger = logging.getLogger(__name__)


class Reporter:
    """Posts each subscribed channel's report on the week before, once."""

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

    def report(self, sub: Subscription, now: datetime) -> bool:
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
            zone = ZoneInfo(sub.timezone)
            missed = LookupLedger(session).gaps(
                team_id,
                GapKind.UNANSWERED,
                datetime.combine(week_start, time.min, zone),
                REPORTED_GAPS,
                until=datetime.combine(end, time.min, zone),
                min_people=2,  # what one person typed privately is not put in a channel
            )
            view = replace(view, unanswered=tuple(Gap(g.query, g.times) for g in missed))
        with self.sessions.begin() as session:
            if not Claims(session, WeeklyReport, CLAIM_LEASE).sending(report_id, token):
                return False
        try:
            ts = self.channel.post_report(view)
        except ChannelFailed as exc:
            logger.warning(
                "weekly report for %s failed (%s); the next tick retries", channel_id, exc.reason
            )
            with self.sessions.begin() as session:
                Claims(session, WeeklyReport, CLAIM_LEASE).release(report_id, token, now)
            return False
        except Exception:
            logger.exception(
                "weekly report for %s: Slack did not confirm; not sent again", channel_id
            )
            with self.sessions.begin() as session:
                Claims(session, WeeklyReport, CLAIM_LEASE).give_up(
                    report_id, token, ClaimStatus.UNKNOWN
                )
            return False
        with self.sessions.begin() as session:
            Claims(session, WeeklyReport, CLAIM_LEASE).done(report_id, token, ts, self.clock())
        return True
