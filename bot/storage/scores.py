"""Running scores (all time) and week/month points, kept in step with answers by the click
path (clicks.py), read by boards and reports. Repositories never commit."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.scoring import Period
from bot.storage.tables import PeriodScore, Score


class Points(NamedTuple):
    """A person's points on a board."""

    user_id: str
    points: int


class Scores:
    """Data access to scores for one unit of work."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, team_id: str, channel_id: str, user_id: str) -> Score | None:
        """A person's running totals in a channel."""
        return self.session.scalar(
            select(Score).where(
                Score.team_id == team_id,
                Score.channel_id == channel_id,
                Score.user_id == user_id,
            )
        )

    def top(self, team_id: str, channel_id: str, limit: int) -> list[Points]:
        """All-time points, highest first, ties by user id."""
        rows = self.session.execute(
            select(Score.user_id, Score.points)
            .where(Score.team_id == team_id, Score.channel_id == channel_id, Score.points > 0)
            .order_by(Score.points.desc(), Score.user_id)
            .limit(limit)
        ).all()
        return [Points(u, int(p)) for u, p in rows]

    def count_above(self, team_id: str, channel_id: str, points: int) -> int:
        """How many people have more all-time points (a rank is this plus one)."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(Score)
                .where(
                    Score.team_id == team_id,
                    Score.channel_id == channel_id,
                    Score.points > points,
                )
            )
            or 0
        )

    def period_top(
        self, team_id: str, channel_id: str, period: Period, start: date, limit: int | None
    ) -> list[Points]:
        """A week's or month's points, highest first, ties by user id (all when no limit)."""
        ps = PeriodScore
        rows = self.session.execute(
            select(ps.user_id, ps.points)
            .where(
                ps.team_id == team_id,
                ps.channel_id == channel_id,
                ps.period == period,
                ps.start == start,
            )
            .order_by(ps.points.desc(), ps.user_id)
            .limit(limit)
        ).all()
        return [Points(u, int(p)) for u, p in rows]

    def period_points(
        self, team_id: str, channel_id: str, period: Period, start: date, user_id: str
    ) -> int:
        """A person's points in a week or month."""
        ps = PeriodScore
        return int(
            self.session.scalar(
                select(ps.points).where(
                    ps.team_id == team_id,
                    ps.channel_id == channel_id,
                    ps.period == period,
                    ps.start == start,
                    ps.user_id == user_id,
                )
            )
            or 0
        )

    def period_count_above(
        self, team_id: str, channel_id: str, period: Period, start: date, points: int
    ) -> int:
        """How many people have more points in a week or month."""
        ps = PeriodScore
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(ps)
                .where(
                    ps.team_id == team_id,
                    ps.channel_id == channel_id,
                    ps.period == period,
                    ps.start == start,
                    ps.points > points,
                )
            )
            or 0
        )
