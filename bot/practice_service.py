"""Personal practice: pick the next question for a person, grade it, remember it (FSRS)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import practice
from bot.library import KnowledgeSource
from bot.practice import CardState
from bot.results import Caller, Mastery, Notice, PracticeOutcome, PracticeQuestion
from bot.storage.answers import Answers
from bot.storage.cards import Cards, card_state

GONE = "That question is no longer available. Try `/virtsec quiz` for a new one."


@dataclass(frozen=True)
class Progress:
    """A person's practice memory: mastery per concept and what is due."""

    mastery: tuple[Mastery, ...]  # weakest first
    due: int
    seen: int


class PracticeService:
    """`/virtsec quiz` with spaced repetition; practice never counts on the leaderboard."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeSource,
        clock: Callable[[], datetime],
    ):
        self.sessions = sessions
        self.knowledge = knowledge
        self.clock = clock

    def next_question(
        self, caller: Caller, exclude: str | None = None
    ) -> PracticeQuestion | Notice:
        """The question this person should practise now."""
        now = self.clock()
        seed = f"{caller.team_id}/{caller.user_id}/{now:%Y%m%d%H%M}"
        question = practice.pick(self.knowledge.kb, self._cards(caller), now, seed, exclude)
        if question is None:
            return Notice("There are no practice questions in the knowledge base.")
        return PracticeQuestion(question)

    def question_on(self, caller: Caller, concept_id: str) -> PracticeQuestion | Notice:
        """A practice question on one concept (the Home tab's "Practice" buttons)."""
        kb = self.knowledge.kb
        if concept_id not in kb.concepts:
            return Notice("That concept is no longer in the knowledge base.", error=True)
        now = self.clock()
        seed = f"{caller.user_id}/{now:%Y%m%d%H%M}"
        question = practice.pick_for_concept(kb, self._cards(caller), now, concept_id, seed)
        if question is None:
            return Notice("There are no practice questions on that concept yet.")
        return PracticeQuestion(question)

    def answer(self, caller: Caller, question_id: str, chosen: int) -> PracticeOutcome | Notice:
        """Grade a practice answer, keep it for stats and reschedule the question; a stale
        or forged question id gets a notice."""
        kb = self.knowledge.kb
        question = kb.questions.get(question_id)
        if question is None or not 0 <= chosen < len(question.choices):
            return Notice(GONE, error=True)
        outcome = PracticeOutcome(question, chosen, kb.concepts_of(question.concepts))
        now = self.clock()
        with self.sessions.begin() as session:
            Answers(session).add_practice(
                caller.team_id,
                caller.channel_id,
                caller.user_id,
                question_id,
                chosen,
                outcome.correct,
                now.date(),
                now,
            )
            cards = Cards(session)
            row = cards.for_update(caller.team_id, caller.user_id, question_id)
            before = card_state(row) if row is not None else None
            after = practice.review(before, question_id, outcome.correct, now)
            cards.save(caller.team_id, caller.user_id, after, row)
        return outcome

    def progress(self, caller: Caller) -> Progress:
        """Mastery per concept practised (weakest first) and the number of due questions."""
        now = self.clock()
        cards = self._cards(caller)
        kb = self.knowledge.kb
        rows = sorted(practice.mastery(kb, cards, now), key=lambda r: (r.level, r.concept_id))
        mastery = tuple(Mastery(kb.concepts[r.concept_id], r.level, r.missed) for r in rows)
        return Progress(mastery, practice.due_count(cards, now), len(cards))

    def _cards(self, caller: Caller) -> list[CardState]:
        with self.sessions.begin() as session:
            return Cards(session).of_user(caller.team_id, caller.user_id)
