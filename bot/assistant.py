"""Everything `/virtsec` does, for any channel: knowledge (Study) plus daily questions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.commands import (
    Command,
    DailyOff,
    DailyOn,
    DailyStatus,
    Leaderboard,
    PostNow,
    Quiz,
    Stats,
    WeeklyToggle,
)
from bot.daily_service import AnswerOutcome, DailyService, LeaderboardResult, StatsResult
from bot.knowledge_base import Concept, KnowledgeBase
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

DAILY_COMMANDS = (DailyOn, DailyOff, DailyStatus, PostNow, Leaderboard, Stats, WeeklyToggle)


@dataclass(frozen=True)
class Dashboard:
    """Everything the Home tab shows one person."""

    user_id: str
    stats: StatsResult
    channel_id: str | None  # their home board: where they last answered a daily question
    board: LeaderboardResult | None
    next_post: datetime | None
    weakest: tuple[tuple[Concept, float], ...]  # lowest practice mastery first
    focus: PracticeQuestion | PracticeOutcome | Notice | None = None  # a practice in progress


Reply = Response | LeaderboardResult | StatsResult | PracticeOutcome | AnswerOutcome


class Assistant:
    """The use cases behind `/virtsec`, shared by Slack and the console."""

    def __init__(self, study: Study, daily: DailyService, practice: PracticeService):
        self.study = study
        self.daily = daily
        self.practice = practice
        # background work a channel adds (e.g. coalesced Home refreshes) to wait for
        self.on_close: list[Callable[[], bool]] = [daily.refresher.wait_idle]
        # close(): first the channel's queued work is finished (on_drain), then background
        # work waited for, then what it holds open (connections) released (on_shutdown)
        self.on_drain: list[Callable[[], None]] = []
        self.on_shutdown: list[Callable[[], None]] = []

    def wait_idle(self) -> bool:
        """Wait for background work (tests, shutdown)."""
        return all(wait() for wait in self.on_close)

    def close(self) -> bool:
        """Finish queued and background work, then release what the channel holds;
        True if everything finished in time."""
        for drain in self.on_drain:
            drain()
        idle = self.wait_idle()
        for release in self.on_shutdown:
            release()
        return idle

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

    def practice_question(
        self, caller: Caller, exclude: str | None = None
    ) -> PracticeQuestion | Notice:
        """The question this person should practise next (spaced repetition)."""
        return self.practice.next_question(caller, exclude)

    def answer_practice(
        self, caller: Caller, question_id: str, chosen: int
    ) -> PracticeOutcome | Notice:
        """Grade a practice answer, keep it for stats (never scored) and reschedule it."""
        return self.practice.answer(caller, question_id, chosen)

    def answer_daily(self, team_id: str, user_id: str, value: str) -> AnswerOutcome:
        """A click on a daily question's answer button."""
        return self.daily.answer(team_id, user_id, value)

    def dashboard(
        self,
        team_id: str,
        user_id: str,
        focus: PracticeQuestion | PracticeOutcome | Notice | None = None,
    ) -> Dashboard:
        """The Home tab's content for a person (sensible with no history at all)."""
        channel = self.daily.home_channel(team_id, user_id)
        caller = Caller(team_id, user_id, channel or "")
        stats = self.stats(caller)
        board = None
        if channel is not None:
            result = self.daily.leaderboard(caller, "all")
            if isinstance(result, LeaderboardResult):
                board = replace(result, rows=result.rows[:5])
        next_post = self.daily.next_post(team_id, channel) if channel else None
        weakest = stats.mastery[:3]  # mastery comes weakest first
        return Dashboard(user_id, stats, channel, board, next_post, weakest, focus)

    def practice_concept(self, caller: Caller, concept_id: str) -> PracticeQuestion | Notice:
        """A practice question on one concept."""
        if concept_id not in self.kb.concepts:
            return Notice("That concept is no longer in the knowledge base.", error=True)
        return self.practice.question_on(caller, concept_id)
