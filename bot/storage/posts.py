"""Daily posts: questions posted in channels (claimed first, see claims.py), and the
weekly reports' rows. Repositories never commit: the caller owns the unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.sql import rowcount
from bot.storage.tables import ClaimStatus, DailyPost

IN_SLACK = (ClaimStatus.POSTED, ClaimStatus.CLOSED)  # questions people saw


class Posts:
    """Data access to daily posts for one unit of work."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, post_id: int) -> DailyPost | None:
        """A post by id."""
        return self.session.get(DailyPost, post_id)

    def for_slot(self, team_id: str, channel_id: str, slot: str) -> DailyPost | None:
        """The post (or claim) for a slot."""
        return self.session.scalar(
            select(DailyPost).where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.slot == slot,
            )
        )

    def open(self, team_id: str, channel_id: str) -> Sequence[DailyPost]:
        """Posted and not yet closed, oldest first."""
        return self.session.scalars(
            select(DailyPost)
            .where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.status == ClaimStatus.POSTED,
            )
            .order_by(DailyPost.id)
        ).all()

    def latest(self, team_id: str, channel_id: str, limit: int = 2) -> Sequence[DailyPost]:
        """The newest posted or closed posts, newest first."""
        return self.session.scalars(
            select(DailyPost)
            .where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.status.in_(IN_SLACK),
            )
            .order_by(DailyPost.id.desc())
            .limit(limit)
        ).all()

    def last_id(self, team_id: str, channel_id: str) -> int | None:
        """The newest question that reached the channel (posted or closed): the one a new
        question follows for streaks."""
        return self.session.scalar(
            select(func.max(DailyPost.id)).where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.status.in_(IN_SLACK),
            )
        )

    def unrevealed(self, team_id: str, channel_id: str, since: datetime) -> Sequence[DailyPost]:
        """Closed since `since` whose reveal has not reached the thread yet."""
        return self.session.scalars(
            select(DailyPost)
            .where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.status == ClaimStatus.CLOSED,
                DailyPost.revealed_at.is_(None),
                DailyPost.closed_at >= since,
            )
            .order_by(DailyPost.id)
        ).all()

    def take_reveal(self, post_id: int, now: datetime) -> bool:
        """Take the reveal of a closed post for this process (compare and set): False when
        another process has it, or it is done."""
        result = self.session.execute(
            update(DailyPost)
            .where(
                DailyPost.id == post_id,
                DailyPost.status == ClaimStatus.CLOSED,
                DailyPost.revealed_at.is_(None),
            )
            .values(revealed_at=now)
        )
        return rowcount(result) == 1

    def give_back_reveal(self, post_id: int) -> None:
        """Slack refused the reveal: a later tick takes it again."""
        self.session.execute(
            update(DailyPost).where(DailyPost.id == post_id).values(revealed_at=None)
        )

    def close(self, post_id: int, now: datetime) -> bool:
        """Close an open post; False when it was not open (someone closed it already)."""
        result = self.session.execute(
            update(DailyPost)
            .where(DailyPost.id == post_id, DailyPost.status == ClaimStatus.POSTED)
            .values(status=ClaimStatus.CLOSED, closed_at=now)
        )
        return rowcount(result) == 1

    def question_use_counts(self, team_id: str, channel_id: str) -> dict[str, int]:
        """How often each question was posted in a channel."""
        rows = self.session.execute(
            select(DailyPost.question_id, func.count())
            .where(DailyPost.team_id == team_id, DailyPost.channel_id == channel_id)
            .group_by(DailyPost.question_id)
        ).all()
        return {q: int(n) for q, n in rows}

    def claim_refresh(self, post_id: int, count: int, now: datetime, interval: timedelta) -> bool:
        """Take the next refresh of an open post's count for this process, and record the
        count it will show; False when another process refreshed it less than `interval`
        ago (compare and set: one refresh per interval for all processes together)."""
        result = self.session.execute(
            update(DailyPost)
            .where(
                DailyPost.id == post_id,
                DailyPost.status == ClaimStatus.POSTED,
                or_(DailyPost.refreshed_at.is_(None), DailyPost.refreshed_at <= now - interval),
            )
            .values(shown_count=count, refreshed_at=now)
            # compared in SQL only (SQLite hands back naive datetimes to Python)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    def unshow(self, post_id: int, count: int) -> None:
        """The refresh that was to show `count` failed: forget it was shown, so the next
        refresh shows it again."""
        self.session.execute(
            update(DailyPost)
            .where(DailyPost.id == post_id, DailyPost.shown_count == count)
            .values(shown_count=-1)
            .execution_options(synchronize_session=False)
        )

    def count_between(self, team_id: str, channel_id: str, start: date, end: date) -> int:
        """How many questions were posted with dates in [start, end)."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(DailyPost)
                .where(
                    DailyPost.team_id == team_id,
                    DailyPost.channel_id == channel_id,
                    DailyPost.status.in_(IN_SLACK),
                    DailyPost.local_date >= start,
                    DailyPost.local_date < end,
                )
            )
            or 0
        )
