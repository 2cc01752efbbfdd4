"""Channels' daily-question schedules. Repositories never commit: the caller owns the unit of
work (`with sessions.begin() as session:`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.scheduling import DaySet
from bot.storage.tables import Subscription


class Subscriptions:
    """Data access to schedules for one unit of work."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, team_id: str, channel_id: str) -> Subscription | None:
        """A channel's schedule."""
        return self.session.scalar(
            select(Subscription).where(
                Subscription.team_id == team_id, Subscription.channel_id == channel_id
            )
        )

    def enabled(self, team_id: str, channel_id: str) -> Subscription | None:
        """A channel's schedule, if it is on."""
        sub = self.get(team_id, channel_id)
        return sub if sub is not None and sub.enabled else None

    def save(
        self,
        team_id: str,
        channel_id: str,
        *,
        post_time: str,
        timezone: str,
        days: DaySet,
        close_time: str | None,
        starts_on: date,
        user_id: str,
        now: datetime,
    ) -> Subscription:
        """Create or replace a channel's schedule and enable it."""
        sub = self.get(team_id, channel_id)
        if sub is None:
            sub = Subscription(
                team_id=team_id, channel_id=channel_id, created_by=user_id, created_at=now
            )
            self.session.add(sub)
        sub.post_time, sub.timezone, sub.days = post_time, timezone, days
        sub.close_time, sub.starts_on = close_time, starts_on
        sub.enabled = True
        sub.updated_at = now
        self.session.flush()
        return sub

    def all_enabled(self) -> Sequence[Subscription]:
        """Every enabled schedule, all teams."""
        return self.session.scalars(
            select(Subscription).where(Subscription.enabled).order_by(Subscription.id)
        ).all()

    def timezone(self, team_id: str, channel_id: str) -> str:
        """The channel's time zone (UTC when it has no schedule)."""
        sub = self.get(team_id, channel_id)
        return sub.timezone if sub else "UTC"
