"""A channel's daily-question schedule: `daily on|off`, `daily`, `weekly on|off`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import scheduling
from bot.commands import DailyOn
from bot.daily.channel import Announcement, Channel, ChannelRefused
from bot.results import Caller, Notice
from bot.scheduling import DaySet
from bot.storage.posts import Posts
from bot.storage.subscriptions import Subscriptions
from bot.storage.tables import Subscription

logger = logging.getLogger(__name__)
HOW_TO_START = "An admin can start one with `/virtsec daily on 09:00 Europe/Berlin`."
CANNOT_POST = (
    "I can't post in this channel ({reason}), so the daily question is not on. Turn it on "
    "again once I can post here."
)
UNREACHABLE = (
    "I couldn't reach Slack to check that I can post here, so the daily question is not on. "
    "Please try again in a minute."
)


class Schedules:
    """Subscribe channels, say when their next question comes."""

    def __init__(
        self, sessions: sessionmaker[Session], channel: Channel, clock: Callable[[], datetime]
    ):
        self.sessions = sessions
        self.channel = channel
        self.clock = clock

    def subscribe(self, caller: Caller, command: DailyOn) -> Notice:
        """Start (or change) this channel's daily question. The channel is told first: a
        channel the bot cannot post in gets no schedule."""
        zone = command.timezone or caller.timezone or "UTC"
        close_time = f"{command.close_at:%H:%M}" if command.close_at else None
        post_time = f"{command.at:%H:%M}"
        days = DaySet(command.days)
        now = self.clock()
        starts_on = scheduling.first_post_date(now, post_time, zone)
        with self.sessions.begin() as session:
            today = scheduling.local_date(now, zone).isoformat()
            posted = Posts(session).for_slot(caller.team_id, caller.channel_id, today)
        first = scheduling.next_post_time(now, post_time, zone, days, posted is not None, starts_on)
        announcement = Announcement(
            caller.team_id,
            caller.channel_id,
            caller.user_id,
            post_time,
            zone,
            days,
            close_time,
            first,
        )
        try:
            self.channel.announce(announcement)
        except ChannelRefused as exc:
            return Notice(CANNOT_POST.format(reason=exc.reason), error=True)
        except Exception:
            logger.exception("announcing the schedule in %s failed", caller.channel_id)
            return Notice(UNREACHABLE, error=True)
        with self.sessions.begin() as session:
            Subscriptions(session).save(
                caller.team_id,
                caller.channel_id,
                post_time=post_time,
                timezone=zone,
                days=days,
                close_time=close_time,
                starts_on=starts_on,
                user_id=caller.user_id,
                now=now,
            )
        closing = f", closing at {close_time}" if close_time else ", open until the next one"
        return Notice(
            f"Daily question on: {post_time} {zone}, {days.described}{closing}. "
            f"Next: {first:%a %d %b %H:%M %Z}."
        )

    def unsubscribe(self, caller: Caller) -> Notice:
        """Stop this channel's daily question."""
        with self.sessions.begin() as session:
            sub = Subscriptions(session).enabled(caller.team_id, caller.channel_id)
            if sub is None:
                return Notice("This channel has no daily question to stop.")
            sub.enabled = False
            sub.updated_at = self.clock()
        return Notice("Daily question off for this channel. Scores are kept.")

    def weekly_toggle(self, caller: Caller, enabled: bool) -> Notice:
        """Turn the Monday report of this channel on or off."""
        with self.sessions.begin() as session:
            sub = Subscriptions(session).enabled(caller.team_id, caller.channel_id)
            if sub is None:
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
        with self.sessions.begin() as session:
            sub = Subscriptions(session).enabled(caller.team_id, caller.channel_id)
            if sub is None:
                return Notice(f"No daily question in this channel. {HOW_TO_START}")
            when = self._next_time(session, sub)
            close = f", closing at {sub.close_time}" if sub.close_time else ""
            return Notice(
                f"Daily question: {sub.post_time} {sub.timezone}, "
                f"{DaySet(sub.days).described}{close}. Next: {when:%a %d %b %H:%M %Z}."
            )

    def next_post(self, team_id: str, channel_id: str) -> datetime | None:
        """When the channel's next daily question goes out, if it has a schedule."""
        with self.sessions.begin() as session:
            sub = Subscriptions(session).enabled(team_id, channel_id)
            return None if sub is None else self._next_time(session, sub)

    def _next_time(self, session: Session, sub: Subscription) -> datetime:
        """The channel's next post time: today's slot counts only if not posted yet."""
        now = self.clock()
        today = scheduling.local_date(now, sub.timezone)
        posted = Posts(session).for_slot(sub.team_id, sub.channel_id, today.isoformat())
        return scheduling.next_post_time(
            now, sub.post_time, sub.timezone, DaySet(sub.days), posted is not None, sub.starts_on
        )
