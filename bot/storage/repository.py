"""Queries and updates on the tables. Repositories never commit: the caller owns the unit
of work (`with sessions.begin() as session:`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.practice import CardState
from bot.storage.tables import (
    Answer,
    DailyPost,
    PeriodScore,
    ReviewState,
    Score,
    Subscription,
    WeeklyReport,
)


def _rowcount(result: Any) -> int:
    """Rows an UPDATE touched (CursorResult.rowcount; INSERTs use RETURNING instead)."""
    return int(result.rowcount)


def _insert(session: Session, table: Any) -> Any:
    """A dialect insert that supports ON CONFLICT DO NOTHING (SQLite and PostgreSQL)."""
    name = session.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


class Repository:
    """Data access for one unit of work."""

    def __init__(self, session: Session):
        self.session = session

    # -- subscriptions

    def subscription(self, team_id: str, channel_id: str) -> Subscription | None:
        """A channel's schedule."""
        return self.session.scalar(
            select(Subscription).where(
                Subscription.team_id == team_id, Subscription.channel_id == channel_id
            )
        )

    def save_subscription(
        self,
        team_id: str,
        channel_id: str,
        *,
        post_time: str,
        timezone: str,
        days: str,
        close_time: str | None,
        user_id: str,
        now: datetime,
    ) -> Subscription:
        """Create or replace a channel's schedule and enable it."""
        sub = self.subscription(team_id, channel_id)
        if sub is None:
            sub = Subscription(
                team_id=team_id, channel_id=channel_id, created_by=user_id, created_at=now
            )
            self.session.add(sub)
        sub.post_time, sub.timezone, sub.days, sub.close_time = (
            post_time,
            timezone,
            days,
            close_time,
        )
        sub.enabled = True
        sub.updated_at = now
        self.session.flush()
        return sub

    def enabled_subscriptions(self) -> Sequence[Subscription]:
        """Every enabled schedule, all teams."""
        return self.session.scalars(
            select(Subscription).where(Subscription.enabled).order_by(Subscription.id)
        ).all()

    # -- posts

    def claim_post(
        self,
        *,
        team_id: str,
        channel_id: str,
        slot: str,
        local_date: date,
        question_id: str,
        token: str,
        now: datetime,
        previous_post_id: int | None,
    ) -> DailyPost | None:
        """Insert the claim row for a slot; None when another process claimed it first."""
        stmt = (
            _insert(self.session, DailyPost)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                slot=slot,
                local_date=local_date,
                question_id=question_id,
                status="claimed",
                claim_token=token,
                claimed_at=now,
                previous_post_id=previous_post_id,
                answer_count=0,
                shown_count=0,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "slot"])
            .returning(DailyPost.id)
        )
        post_id = self.session.execute(stmt).scalar_one_or_none()
        return None if post_id is None else self.session.get(DailyPost, post_id)

    def post_for_slot(self, team_id: str, channel_id: str, slot: str) -> DailyPost | None:
        """The post (or claim) for a slot."""
        return self.session.scalar(
            select(DailyPost).where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.slot == slot,
            )
        )

    def reclaim(self, post_id: int, old_token: str, new_token: str, now: datetime) -> bool:
        """Take over a stale claim (its process died before posting); False if someone did."""
        result = self.session.execute(
            update(DailyPost)
            .where(
                DailyPost.id == post_id,
                DailyPost.status == "claimed",
                DailyPost.claim_token == old_token,
            )
            .values(claim_token=new_token, claimed_at=now)
        )
        return bool(_rowcount(result) == 1)

    def mark_posted(self, post_id: int, token: str, ts: str, now: datetime) -> bool:
        """Record the Slack message of a claimed post."""
        result = self.session.execute(
            update(DailyPost)
            .where(
                DailyPost.id == post_id,
                DailyPost.claim_token == token,
                DailyPost.status == "claimed",
            )
            .values(status="posted", message_ts=ts, posted_at=now)
        )
        return bool(_rowcount(result) == 1)

    def post(self, post_id: int) -> DailyPost | None:
        """A post by id."""
        return self.session.get(DailyPost, post_id)

    def open_posts(self, team_id: str, channel_id: str) -> Sequence[DailyPost]:
        """Posted and not yet closed, oldest first."""
        return self.session.scalars(
            select(DailyPost)
            .where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.status == "posted",
            )
            .order_by(DailyPost.id)
        ).all()

    def latest_posts(self, team_id: str, channel_id: str, limit: int = 2) -> Sequence[DailyPost]:
        """The newest posted or closed posts, newest first."""
        return self.session.scalars(
            select(DailyPost)
            .where(
                DailyPost.team_id == team_id,
                DailyPost.channel_id == channel_id,
                DailyPost.status != "claimed",
            )
            .order_by(DailyPost.id.desc())
            .limit(limit)
        ).all()

    def last_post_id(self, team_id: str, channel_id: str) -> int | None:
        """The newest post's id (any status)."""
        return self.session.scalar(
            select(func.max(DailyPost.id)).where(
                DailyPost.team_id == team_id, DailyPost.channel_id == channel_id
            )
        )

    def close_post(self, post_id: int, now: datetime) -> bool:
        """Close an open post; False when it was not open (someone closed it already)."""
        result = self.session.execute(
            update(DailyPost)
            .where(DailyPost.id == post_id, DailyPost.status == "posted")
            .values(status="closed", closed_at=now)
        )
        return bool(_rowcount(result) == 1)

    def question_use_counts(self, team_id: str, channel_id: str) -> dict[str, int]:
        """How often each question was posted in a channel."""
        rows = self.session.execute(
            select(DailyPost.question_id, func.count())
            .where(DailyPost.team_id == team_id, DailyPost.channel_id == channel_id)
            .group_by(DailyPost.question_id)
        ).all()
        return {q: int(n) for q, n in rows}

    def set_shown_count(self, post_id: int, count: int) -> None:
        """Remember the answer count shown on the message."""
        self.session.execute(
            update(DailyPost)
            .where(DailyPost.id == post_id)
            .values(shown_count=count, answer_count=count)
        )

    # -- answers

    def add_practice_answer(
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
            Answer(
                team_id=team_id,
                channel_id=channel_id,
                user_id=user_id,
                kind="practice",
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
            select(Answer.choice, func.count())
            .where(Answer.post_id == post_id)
            .group_by(Answer.choice)
        ).all()
        return {int(c): int(n) for c, n in rows}

    def correct_users(self, post_id: int) -> list[str]:
        """Who got a post right, in the order they answered."""
        return list(
            self.session.scalars(
                select(Answer.user_id)
                .where(Answer.post_id == post_id, Answer.correct)
                .order_by(Answer.answered_at, Answer.id)
            ).all()
        )

    def answer_count(self, post_id: int) -> int:
        """How many people answered a post (counted on the unique (post, user) index)."""
        return int(
            self.session.scalar(
                select(func.count()).select_from(Answer).where(Answer.post_id == post_id)
            )
            or 0
        )

    # -- scores

    def score(self, team_id: str, channel_id: str, user_id: str) -> Score | None:
        """A person's running totals in a channel."""
        return self.session.scalar(
            select(Score).where(
                Score.team_id == team_id, Score.channel_id == channel_id, Score.user_id == user_id
            )
        )

    def top_scores(self, team_id: str, channel_id: str, limit: int) -> list[tuple[str, int]]:
        """All-time points, highest first, ties by user id."""
        rows = self.session.execute(
            select(Score.user_id, Score.points)
            .where(Score.team_id == team_id, Score.channel_id == channel_id, Score.points > 0)
            .order_by(Score.points.desc(), Score.user_id)
            .limit(limit)
        ).all()
        return [(u, int(p)) for u, p in rows]

    def count_scoring_above(self, team_id: str, channel_id: str, points: int) -> int:
        """How many people have more all-time points (a rank is this plus one)."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(Score)
                .where(
                    Score.team_id == team_id, Score.channel_id == channel_id, Score.points > points
                )
            )
            or 0
        )

    def top_period_scores(
        self, team_id: str, channel_id: str, period: str, start: date, limit: int
    ) -> list[tuple[str, int]]:
        """A week's or month's points, highest first, ties by user id."""
        rows = self.session.execute(
            select(PeriodScore.user_id, PeriodScore.points)
            .where(
                PeriodScore.team_id == team_id,
                PeriodScore.channel_id == channel_id,
                PeriodScore.period == period,
                PeriodScore.start == start,
            )
            .order_by(PeriodScore.points.desc(), PeriodScore.user_id)
            .limit(limit)
        ).all()
        return [(u, int(p)) for u, p in rows]

    def period_points(
        self, team_id: str, channel_id: str, period: str, start: date, user_id: str
    ) -> int:
        """A person's points in a week or month."""
        return int(
            self.session.scalar(
                select(PeriodScore.points).where(
                    PeriodScore.team_id == team_id,
                    PeriodScore.channel_id == channel_id,
                    PeriodScore.period == period,
                    PeriodScore.start == start,
                    PeriodScore.user_id == user_id,
                )
            )
            or 0
        )

    def count_period_above(
        self, team_id: str, channel_id: str, period: str, start: date, points: int
    ) -> int:
        """How many people have more points in a week or month."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(PeriodScore)
                .where(
                    PeriodScore.team_id == team_id,
                    PeriodScore.channel_id == channel_id,
                    PeriodScore.period == period,
                    PeriodScore.start == start,
                    PeriodScore.points > points,
                )
            )
            or 0
        )

    def week_answers(
        self, team_id: str, channel_id: str, start: date, end: date
    ) -> list[tuple[str, str, bool, int]]:
        """Daily answers dated in [start, end): (user, question, right, post)."""
        rows = self.session.execute(
            select(Answer.user_id, Answer.question_id, Answer.correct, Answer.post_id).where(
                Answer.team_id == team_id,
                Answer.channel_id == channel_id,
                Answer.kind == "daily",
                Answer.local_date >= start,
                Answer.local_date < end,
            )
        ).all()
        return [(u, q, bool(c), int(p or 0)) for u, q, c, p in rows]

    def posts_between(self, team_id: str, channel_id: str, start: date, end: date) -> int:
        """How many questions were posted with dates in [start, end)."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(DailyPost)
                .where(
                    DailyPost.team_id == team_id,
                    DailyPost.channel_id == channel_id,
                    DailyPost.status != "claimed",
                    DailyPost.local_date >= start,
                    DailyPost.local_date < end,
                )
            )
            or 0
        )

    def all_period_points(
        self, team_id: str, channel_id: str, period: str, start: date
    ) -> list[tuple[str, int]]:
        """Everyone's points in a week or month, highest first."""
        rows = self.session.execute(
            select(PeriodScore.user_id, PeriodScore.points)
            .where(
                PeriodScore.team_id == team_id,
                PeriodScore.channel_id == channel_id,
                PeriodScore.period == period,
                PeriodScore.start == start,
            )
            .order_by(PeriodScore.points.desc(), PeriodScore.user_id)
        ).all()
        return [(u, int(p)) for u, p in rows]

    def claim_report(
        self, team_id: str, channel_id: str, week_start: date, token: str, now: datetime
    ) -> WeeklyReport | None:
        """Claim a week's report; None when another process has it."""
        stmt = (
            _insert(self.session, WeeklyReport)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                week_start=week_start,
                status="claimed",
                claim_token=token,
                claimed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "week_start"])
            .returning(WeeklyReport.id)
        )
        report_id = self.session.execute(stmt).scalar_one_or_none()
        return None if report_id is None else self.session.get(WeeklyReport, report_id)

    def report(self, team_id: str, channel_id: str, week_start: date) -> WeeklyReport | None:
        """A week's report row."""
        return self.session.scalar(
            select(WeeklyReport).where(
                WeeklyReport.team_id == team_id,
                WeeklyReport.channel_id == channel_id,
                WeeklyReport.week_start == week_start,
            )
        )

    def mark_report(
        self,
        report_id: int,
        token: str,
        ts: str | None,
        status: str,
        claimed_at: datetime | None = None,
    ) -> bool:
        """Record the outcome of a claimed report (posted, or released for a retry)."""
        values: dict[str, Any] = {"status": status, "message_ts": ts}
        if claimed_at is not None:
            values["claimed_at"] = claimed_at
        result = self.session.execute(
            update(WeeklyReport)
            .where(WeeklyReport.id == report_id, WeeklyReport.claim_token == token)
            .values(**values)
        )
        return bool(_rowcount(result) == 1)

    def retake_report(self, report_id: int, old_token: str, new_token: str, now: datetime) -> bool:
        """Take over a stale report claim."""
        result = self.session.execute(
            update(WeeklyReport)
            .where(
                WeeklyReport.id == report_id,
                WeeklyReport.status == "claimed",
                WeeklyReport.claim_token == old_token,
            )
            .values(claim_token=new_token, claimed_at=now)
        )
        return bool(_rowcount(result) == 1)

    def latest_daily_channel(self, team_id: str, user_id: str) -> str | None:
        """The channel of a person's most recent daily answer."""
        return self.session.scalar(
            select(Answer.channel_id)
            .where(Answer.team_id == team_id, Answer.user_id == user_id, Answer.kind == "daily")
            .order_by(Answer.answered_at.desc(), Answer.id.desc())
            .limit(1)
        )

    def user_answers(self, team_id: str, user_id: str) -> list[tuple[str, bool, str]]:
        """A person's answers as (question id, correct, kind)."""
        stmt = select(Answer.question_id, Answer.correct, Answer.kind).where(
            Answer.team_id == team_id, Answer.user_id == user_id
        )
        return [(q, bool(c), k) for q, c, k in self.session.execute(stmt).all()]

    # -- spaced repetition

    def cards(self, team_id: str, user_id: str) -> list[CardState]:
        """A person's practice cards."""
        rs = ReviewState
        rows = self.session.execute(
            select(
                rs.question_id,
                rs.state,
                rs.step,
                rs.stability,
                rs.difficulty,
                rs.due,
                rs.last_review,
                rs.first_seen,
                rs.reviews,
                rs.lapses,
            ).where(rs.team_id == team_id, rs.user_id == user_id)
        ).all()
        return [
            CardState(
                question_id=q,
                state=st,
                step=step,
                stability=stab,
                difficulty=diff,
                due=due,
                last_review=last,
                first_seen=first,
                reviews=n,
                lapses=lapses,
            )
            for q, st, step, stab, diff, due, last, first, n, lapses in rows
        ]

    def card_for_update(self, team_id: str, user_id: str, question_id: str) -> ReviewState | None:
        """One card, locked for this unit of work."""
        return self.session.scalar(
            select(ReviewState)
            .where(
                ReviewState.team_id == team_id,
                ReviewState.user_id == user_id,
                ReviewState.question_id == question_id,
            )
            .with_for_update()
        )

    def save_card(
        self, team_id: str, user_id: str, card: CardState, row: ReviewState | None
    ) -> None:
        """Store a card's new state."""
        if row is None:
            row = ReviewState(team_id=team_id, user_id=user_id, question_id=card.question_id)
            self.session.add(row)
        row.state, row.step, row.stability, row.difficulty = (
            card.state,
            card.step,
            card.stability,
            card.difficulty,
        )
        row.due, row.last_review, row.first_seen = card.due, card.last_review, card.first_seen
        row.reviews, row.lapses = card.reviews, card.lapses


def card_state(row: ReviewState) -> CardState:
    """A stored card as the scheduler's value."""
    return CardState(
        question_id=row.question_id,
        state=row.state,
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
        first_seen=row.first_seen,
        reviews=row.reviews,
        lapses=row.lapses,
    )
