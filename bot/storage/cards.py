"""People's spaced-repetition cards (FSRS state per practice question). Repositories never
commit: the caller owns the unit of work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.practice import CardState
from bot.storage.tables import ReviewState


class Cards:
    """Data access to practice cards for one unit of work."""

    def __init__(self, session: Session):
        self.session = session

    def of_user(self, team_id: str, user_id: str) -> list[CardState]:
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
                state=state,
                step=step,
                stability=stability,
                difficulty=difficulty,
                due=due,
                last_review=last,
                first_seen=first,
                reviews=reviews,
                lapses=lapses,
            )
            for q, state, step, stability, difficulty, due, last, first, reviews, lapses in rows
        ]

    def for_update(self, team_id: str, user_id: str, question_id: str) -> ReviewState | None:
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

    def save(self, team_id: str, user_id: str, card: CardState, row: ReviewState | None) -> None:
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
