"""A channel's daily-question schedule: `daily on|off`, `daily`, `weekly on|off`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import scheduling
from bot.commands import DailyOn
from bot.results import Caller, Notice
from bot.scheduling import DaySet
from bot.storage.posts import Posts
from bot.storage.subscriptions import Subscriptions
from bot.storage.tables import Subscription

HOW_TO_START = "An admin can start one with `/virtsec daily on 09:00 Europe/Berlin`."


class Schedules:
    """Subscribe channels, say when their next question comes."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self.sessions = sessions
        self.clock = clock

    def subscribe(self, caller: Caller, command: DailyOn) -> Notice:
        """Start (or change) this channel's daily question."""
        zone = command.timezone or caller.timezone or "UTC"
        close_time = f"{command.close_at:%H:%M}" if command.close_at else None
        post_time = f"{command.at:%H:%M}"
        now = self.clock()
        with self.sessions.begin() as session:
            sub = Subscriptions(session).save(
                caller.team_id,
                caller.channel_id,
                post_time=post_time,
                timezone=zone,
                days=command.days,
                close_time=close_time,
                starts_on=scheduling.first_post_date(now, post_time, zone),
                user_id=caller.user_id,
                now=now,
            )
            when = self._next_time(session, sub)
        closing = f", closing at {close_time}" if close_time else ", open until the next one"
        return Notice(
            f"Daily question on: {command.at:%H:%M} {zone}, {DaySet(command.days).described}"
            f"{closing}. Next: {when:%a %d %b %H:%M %Z}."
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
                f"{scheduling.DaySet(sub.days).described}{close}. "
                f"Next: {when:%a %d %b %H:%M %Z}."
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
            now,
            sub.post_time,
            sub.timezone,
            scheduling.DaySet(sub.days),
            posted is not None,
            sub.starts_on,
        )
