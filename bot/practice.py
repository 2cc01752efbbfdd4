"""Personal practice with spaced repetition (FSRS, the `fsrs` package).

Each person has an FSRS card per practice question they have seen. A wrong
answer is rated Again (the question returns within minutes, then relearns), a
right one Good (the interval grows with every success). `/virtsec quiz` picks,
in this order: the most overdue due card; else a new question, at most
`NEW_PER_DAY` a day, from the concept the person has seen least; else the card
due soonest (review ahead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from fsrs import Card, Rating, Scheduler, State

from bot.knowledge_base import KnowledgeBase, Question
from bot.quiz import seeded_choice

NEW_PER_DAY = 10
# No fuzz: the same answers give the same schedule (testable, explainable).
SCHEDULER = Scheduler(enable_fuzzing=False)


@dataclass(frozen=True)
class CardState:
    """The stored FSRS state of one person's card."""

    question_id: str
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    first_seen: datetime
    reviews: int = 0
    lapses: int = 0


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _card(state: CardState) -> Card:
    return Card(
        card_id=1,
        state=State(state.state),
        step=state.step,
        stability=state.stability,
        difficulty=state.difficulty,
        due=_utc(state.due),
        last_review=_utc(state.last_review) if state.last_review else None,
    )


def review(state: CardState | None, question_id: str, correct: bool, now: datetime) -> CardState:
    """The card after an answer (a new card when `state` is None)."""
    now = _utc(now)
    card = _card(state) if state else Card(card_id=1, due=now)
    card, _log = SCHEDULER.review_card(card, Rating.Good if correct else Rating.Again, now)
    return CardState(
        question_id=question_id,
        state=int(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        first_seen=state.first_seen if state else now,
        reviews=(state.reviews if state else 0) + 1,
        lapses=(state.lapses if state else 0) + (0 if correct else 1),
    )


def retrievability(state: CardState, now: datetime) -> float:
    """The chance (0..1) the person would answer this question right now."""
    if state.stability is None or state.last_review is None:
        return 0.0
    return float(SCHEDULER.get_card_retrievability(_card(state), _utc(now)))


def pick(
    kb: KnowledgeBase,
    cards: Sequence[CardState],
    now: datetime,
    seed: str,
    exclude: str | None = None,
) -> Question | None:
    """The next practice question for a person (see the module docstring)."""
    now = _utc(now)
    known = {c.question_id: c for c in cards if c.question_id in kb.questions}
    due = sorted(
        (c for c in known.values() if _utc(c.due) <= now and c.question_id != exclude),
        key=lambda c: (_utc(c.due), c.question_id),
    )
    if due:
        return kb.questions[due[0].question_id]
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    new_today = sum(1 for c in known.values() if _utc(c.first_seen) >= day_start)
    unseen = [
        q
        for q in sorted(kb.questions.values(), key=lambda q: q.id)
        if q.id not in known and q.id != exclude
    ]
    if unseen and new_today < NEW_PER_DAY:
        return _least_seen_concept(unseen, (kb.questions[q] for q in known), seed)
    ahead = sorted(
        (c for c in known.values() if c.question_id != exclude),
        key=lambda c: (_utc(c.due), c.question_id),
    )
    if ahead:
        return kb.questions[ahead[0].question_id]
    return _least_seen_concept(unseen, (), seed) if unseen else None


def pick_for_concept(
    kb: KnowledgeBase, cards: Sequence[CardState], now: datetime, concept_id: str, seed: str
) -> Question | None:
    """A question on one concept ("practice this"): due first, then unseen, then soonest."""
    now = _utc(now)
    pool = sorted(
        (q for q in kb.questions.values() if concept_id in q.concepts), key=lambda q: q.id
    )
    known = {c.question_id: c for c in cards}
    due = sorted(
        (known[q.id] for q in pool if q.id in known and _utc(known[q.id].due) <= now),
        key=lambda c: (_utc(c.due), c.question_id),
    )
    if due:
        return kb.questions[due[0].question_id]
    unseen = [q for q in pool if q.id not in known]
    if unseen:
        return seeded_choice(seed, unseen)
    soonest = sorted((known[q.id] for q in pool), key=lambda c: (_utc(c.due), c.question_id))
    return kb.questions[soonest[0].question_id] if soonest else None


def _least_seen_concept(unseen: list[Question], seen: Iterable[Question], seed: str) -> Question:
    counts: dict[str, int] = {}
    for q in seen:
        counts[q.concepts[0]] = counts.get(q.concepts[0], 0) + 1
    least = min(counts.get(q.concepts[0], 0) for q in unseen)
    candidates = [q for q in unseen if counts.get(q.concepts[0], 0) == least]
    return seeded_choice(seed, candidates)


def last_missed(state: CardState) -> bool:
    """True when the person's latest answer to the question was wrong (FSRS puts a card
    rated Again back on the first learning or relearning step)."""
    return state.state in (int(State.Learning), int(State.Relearning)) and state.step == 0


class ConceptMemory(NamedTuple):
    """How well a person knows one concept, from the practice questions that test it."""

    concept_id: str
    level: float  # 0..1, see `mastery`
    seen: int  # how many of its questions they have practised
    missed: int  # how many of those they got wrong the last time


def mastery(kb: KnowledgeBase, cards: Sequence[CardState], now: datetime) -> list[ConceptMemory]:
    """Per concept practised: the mean, over all the concept's questions, of the chance the
    person answers each right now (FSRS retrievability), counting a question they have not
    seen, or got wrong the last time, as 0. So a concept missed every time is at 0, below
    any concept answered right, and seeing more of a concept raises its level."""
    by_concept: dict[str, int] = {}
    for q in kb.questions.values():
        by_concept[q.concepts[0]] = by_concept.get(q.concepts[0], 0) + 1
    recall: dict[str, list[float]] = {}
    missed: dict[str, int] = {}
    for card in cards:
        question = kb.questions.get(card.question_id)
        if question is None:
            continue
        concept = question.concepts[0]
        wrong = last_missed(card)
        recall.setdefault(concept, []).append(0.0 if wrong else retrievability(card, now))
        missed[concept] = missed.get(concept, 0) + int(wrong)
    return [
        ConceptMemory(concept, sum(values) / by_concept[concept], len(values), missed[concept])
        for concept, values in sorted(recall.items())
    ]


def due_count(cards: Sequence[CardState], now: datetime) -> int:
    """How many cards are due for review."""
    now = _utc(now)
    return sum(1 for c in cards if _utc(c.due) <= now)
