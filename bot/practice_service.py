"""Personal practice: pick the next question for a person, grade it, remember it (FSRS)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import practice
from bot.knowledge_base import Concept
from bot.services import Caller, Notice, PracticeOutcome, PracticeQuestion, Study
from bot.storage.repository import Repository, card_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """A person's practice memory: mastery per concept and what is due."""

    mastery: tuple[tuple[Concept, float], ...]  # concept, 0..1
    due: int
    seen: int


class PracticeService:
    """`/virtsec quiz` with spaced repetition; practice never counts on the leaderboard."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        study: Study,
        clock: Callable[[], datetime] | None = None,
    ):
        self.sessions = sessions
        self.study = study
        self.clock = clock or (lambda: datetime.now(UTC))

    def next_question(
        self, caller: Caller, exclude: str | None = None
    ) -> PracticeQuestion | Notice:
        """The question this person should practise now."""
        now = self.clock()
        with self.sessions.begin() as session:
            cards = Repository(session).cards(caller.team_id, caller.user_id)
        question = practice.pick(
            self.study.kb,
            cards,
            now,
            f"{caller.team_id}/{caller.user_id}/{now:%Y%m%d%H%M}",
            exclude,
        )
        if question is None:
            return Notice("There are no practice questions in the knowledge base.")
        return PracticeQuestion(question)

    def question_on(self, caller: Caller, concept_id: str) -> PracticeQuestion | Notice:
        """A practice question on one concept (the Home tab's "Practice" buttons)."""
        now = self.clock()
        with self.sessions.begin() as session:
            cards = Repository(session).cards(caller.team_id, caller.user_id)
        question = practice.pick_for_concept(
            self.study.kb, cards, now, concept_id, f"{caller.user_id}/{now:%Y%m%d%H%M}"
        )
        if question is None:
            return Notice("There are no practice questions on that concept yet.")
        return PracticeQuestion(question)

    def answer(self, caller: Caller, question_id: str, chosen: int) -> PracticeOutcome | Notice:
        """Grade a practice answer, keep it for stats and reschedule the question."""
        outcome = self.study.grade_practice(question_id, chosen)
        if isinstance(outcome, Notice):
            return outcome
        now = self.clock()
        with self.sessions.begin() as session:
            repo = Repository(session)
            repo.add_practice_answer(
                caller.team_id,
                caller.channel_id,
                caller.user_id,
                question_id,
                chosen,
                outcome.correct,
                now.date(),
                now,
            )
            row = repo.card_for_update(caller.team_id, caller.user_id, question_id)
            before = card_state(row) if row is not None else None
            repo.save_card(
                caller.team_id,
                caller.user_id,
                practice.review(before, question_id, outcome.correct, now),
                row,
            )
        return outcome

    def progress(self, caller: Caller) -> Progress:
        """Mastery per concept practised (weakest first) and the number of due questions."""
        now = self.clock()
        with self.sessions.begin() as session:
            cards = Repository(session).cards(caller.team_id, caller.user_id)
        kb = self.study.kb
        rows = sorted(practice.mastery(kb, cards, now), key=lambda r: (r[1], r[0]))
        return Progress(
            tuple((kb.concepts[c], m) for c, m, _n in rows if c in kb.concepts),
            practice.due_count(cards, now),
            len(cards),
        )
