"""Everything `/virtsec` does, for any channel: knowledge (Study) plus daily questions."""

from __future__ import annotations

from dataclasses import replace

from bot.commands import (
    Command,
    DailyOff,
    DailyOn,
    DailyStatus,
    Leaderboard,
    PostNow,
    Quiz,
    Stats,
)
from bot.daily_service import AnswerOutcome, DailyService, LeaderboardResult, StatsResult
from bot.knowledge_base import KnowledgeBase
from bot.practice_service import PracticeService
from bot.services import (
    ADMIN_ONLY,
    Caller,
    ConceptCard,
    Notice,
    PracticeOutcome,
    PracticeQuestion,
    Response,
    Study,
)

DAILY_COMMANDS = (DailyOn, DailyOff, DailyStatus, PostNow, Leaderboard, Stats)
Reply = Response | LeaderboardResult | StatsResult | PracticeOutcome | AnswerOutcome


class Assistant:
    """The use cases behind `/virtsec`, shared by Slack and the console."""

    def __init__(self, study: Study, daily: DailyService, practice: PracticeService):
        self.study = study
        self.daily = daily
        self.practice = practice

    @property
    def kb(self) -> KnowledgeBase:
        """The current knowledge base."""
        return self.study.kb

    def execute(self, command: Command, caller: Caller) -> Reply:
        """Run a parsed command for a caller."""
        if command.admin and not caller.is_admin:
            return Notice(ADMIN_ONLY, error=True)
        if isinstance(command, Quiz):
            return self.practice.next_question(caller)
        if isinstance(command, Stats):
            return self.stats(caller)
        if isinstance(command, DAILY_COMMANDS):
            return self.daily.execute(command, caller)
        return self.study.execute(command, caller)

    def stats(self, caller: Caller) -> StatsResult:
        """Daily record in this channel plus practice memory (mastery, due reviews)."""
        progress = self.practice.progress(caller)
        return replace(self.daily.stats(caller), mastery=progress.mastery, due=progress.due)

    def concept(self, concept_id: str) -> ConceptCard | Notice:
        """A concept by id."""
        return self.study.concept(concept_id)

    def practice_question(self, caller: Caller, exclude: str | None = None
                          ) -> PracticeQuestion | Notice:
        """The question this person should practise next (spaced repetition)."""
        return self.practice.next_question(caller, exclude)

    def answer_practice(self, caller: Caller, question_id: str,
                        chosen: int) -> PracticeOutcome | Notice:
        """Grade a practice answer, keep it for stats (never scored) and reschedule it."""
        return self.practice.answer(caller, question_id, chosen)

    def answer_daily(self, team_id: str, user_id: str, value: str) -> AnswerOutcome:
        """A click on a daily question's answer button."""
        return self.daily.answer(team_id, user_id, value)
