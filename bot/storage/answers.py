"""Stored answers: practice answers written, and what boards, stats and reports read.
(A daily answer is written by the click path, clicks.py.) Repositories never commit."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.tables import AnswerKind, StoredAnswer


class AnswerSummary(NamedTuple):
    """One of a person's answers, as stats read it."""

    question_id: str
    correct: bool
    kind: AnswerKind


class WeekAnswer(NamedTuple):
    """A daily answer, as the weekly report reads it."""

    user_id: str
    question_id: str
    correct: bool
    post_id: int


class Answers:
    """Data access to answers for one unit of work."""

    def __init__(self, session: Session):
        self.session = session

    def add_practice(
        self,
        team_id: str,
        channel_id: str,
        user_id: str,
        question_id: str,
        choice: int,
        correct: bool,
        today: date,
        now: datetime,
    ) -> None:
        """Record a practice answer (never scored)."""
        self.session.add(
            StoredAnswer(
                team_id=team_id,
                channel_id=channel_id,
                user_id=user_id,
                kind=AnswerKind.PRACTICE,
                post_id=None,
                question_id=question_id,
                choice=choice,
                correct=correct,
                local_date=today,
                answered_at=now,
            )
        )

    def choice_counts(self, post_id: int) -> dict[int, int]:
        """Answers per choice."""
        rows = self.session.execute(
            select(StoredAnswer.choice, func.count())
            .where(StoredAnswer.post_id == post_id)
            .group_by(StoredAnswer.choice)
        ).all()
        return {int(c): int(n) for c, n in rows}

    def correct_users(self, post_id: int) -> list[str]:
        """Who got a post right, in the order they answered."""
        return list(
            self.session.scalars(
                select(StoredAnswer.user_id)
                .where(StoredAnswer.post_id == post_id, StoredAnswer.correct)
                .order_by(StoredAnswer.answered_at, StoredAnswer.id)
            ).all()
        )

    def count(self, post_id: int) -> int:
        """How many people answered a post (counted on the unique (post, user) index)."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(StoredAnswer)
                .where(StoredAnswer.post_id == post_id)
            )
            or 0
        )

    def daily_between(
        self, team_id: str, channel_id: str, start: date, end: date
    ) -> list[WeekAnswer]:
        """Daily answers dated in [start, end)."""
        a = StoredAnswer
        rows = self.session.execute(
            select(a.user_id, a.question_id, a.correct, a.post_id).where(
                a.team_id == team_id,
                a.channel_id == channel_id,
                a.kind == AnswerKind.DAILY,
                a.local_date >= start,
                a.local_date < end,
            )
        ).all()
        return [WeekAnswer(u, q, bool(c), int(p or 0)) for u, q, c, p in rows]

    def latest_daily_channel(self, team_id: str, user_id: str) -> str | None:
        """The channel of a person's most recent daily answer."""
        a = StoredAnswer
        return self.session.scalar(
            select(a.channel_id)
            .where(a.team_id == team_id, a.user_id == user_id, a.kind == AnswerKind.DAILY)
            .order_by(a.answered_at.desc(), a.id.desc())
            .limit(1)
        )

    def of_user(self, team_id: str, user_id: str) -> list[AnswerSummary]:
        """A person's answers, daily and practice."""
        a = StoredAnswer
        stmt = select(a.question_id, a.correct, a.kind).where(
            a.team_id == team_id, a.user_id == user_id
        )
        return [AnswerSummary(q, bool(c), AnswerKind(k)) for q, c, k in self.session.execute(stmt)]
