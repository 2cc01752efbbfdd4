"""What the core answers: typed results that every channel (Slack, console) renders.

`Reply` is the closed union of what a `/virtsec` command returns; each renderer matches on it
with `assert_never` as its last case, so mypy names every renderer a new result must reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from bot.knowledge_base import Concept, Question, Scenario, Tip
from bot.lookup import LookupResult
from bot.scoring import ClickStatus, Period, Ranked


@dataclass(frozen=True)
class Caller:
    """Who asked, and where."""

    team_id: str
    user_id: str
    channel_id: str = ""
    is_admin: bool = False
    timezone: str | None = None  # the person's own zone (default for `daily on`)


@dataclass(frozen=True)
class Notice:
    """A short message for the caller (a confirmation, an error or a refusal)."""

    text: str
    error: bool = False


@dataclass(frozen=True)
class HelpResult:
    """Usage text."""

    usage: str


@dataclass(frozen=True)
class ConceptCard:
    """One concept, shown in full."""

    concept: Concept
    related: tuple[Concept, ...]


@dataclass(frozen=True)
class LookupReply:
    """The result of a lookup, with the concepts it names resolved."""

    lookup: LookupResult
    card: ConceptCard | None
    compared: tuple[ConceptCard, ...] = ()
    learned: bool = False  # answered by a query the team taught


@dataclass(frozen=True)
class Picked:
    """A suggestion someone picked for their query; `learned` when the query now answers
    it directly for the whole team."""

    card: ConceptCard
    query: str
    learned: bool


class Gap(NamedTuple):
    """A query the team asked `times` times (as last typed)."""

    query: str
    times: int


@dataclass(frozen=True)
class GapsResult:
    """What the bot could not answer for a team lately, and what it was taught."""

    unanswered: tuple[Gap, ...]
    refused: tuple[Gap, ...]
    taught: int
    days: int


class TopicGroup(NamedTuple):
    """The concepts of one tag."""

    tag: str
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class TopicList:
    """Concepts grouped by tag."""

    groups: tuple[TopicGroup, ...]
    tag: str | None = None


@dataclass(frozen=True)
class TipResult:
    """An exam tip and the concepts it is about."""

    tip: Tip
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class ScenarioResult:
    """A worked case."""

    scenario: Scenario
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class PracticeQuestion:
    """A practice question for one person."""

    question: Question


@dataclass(frozen=True)
class PracticeOutcome:
    """How a practice answer went."""

    question: Question
    chosen: int
    concepts: tuple[Concept, ...]

    @property
    def correct(self) -> bool:
        """True when the chosen choice is the answer."""
        return self.chosen == self.question.answer_index


@dataclass(frozen=True)
class DailyAnswerResult:
    """What became of a click on a daily question's answer button."""

    status: ClickStatus
    question: Question | None = None
    chosen: int = -1
    correct: bool = False
    concepts: tuple[Concept, ...] = ()


@dataclass(frozen=True)
class LeaderboardResult:
    """Top 10 of a channel for a period, plus the caller's own row."""

    period: Period
    rows: tuple[Ranked, ...]
    caller: Ranked | None
    caller_id: str
    start: str = ""  # ISO date the week or month started, "" for all time


class ConceptRecord(NamedTuple):
    """How a person did on one concept's questions."""

    concept: Concept
    right: int
    answered: int


class Mastery(NamedTuple):
    """A person's practice memory of one concept, 0..1 (`bot.practice.mastery`)."""

    concept: Concept
    level: float
    missed: int = 0  # questions on it they got wrong the last time


@dataclass(frozen=True)
class StatsResult:
    """A person's record."""

    answered: int
    correct: int
    points: int
    current_streak: int
    best_streak: int
    practice_answered: int
    practice_correct: int
    weakest: tuple[ConceptRecord, ...]
    mastery: tuple[Mastery, ...] = ()  # weakest first
    due: int = 0  # practice questions due for review

    @property
    def accuracy(self) -> float:
        """Share of daily answers that were right (0..1)."""
        return self.correct / self.answered if self.answered else 0.0


Focus = PracticeQuestion | PracticeOutcome | ConceptCard | Notice | None
"""What the Home tab shows at its top: a practice in progress, a concept opened there, or a
notice."""


@dataclass(frozen=True)
class Dashboard:
    """Everything the Home tab shows one person."""

    user_id: str
    stats: StatsResult
    channel_id: str | None  # their home board: where they last answered a daily question
    board: LeaderboardResult | None
    next_post: datetime | None
    weakest: tuple[Mastery, ...]  # concepts with a question missed last time, weakest first
    focus: Focus = None


Reply = (
    Notice
    | HelpResult
    | ConceptCard
    | LookupReply
    | TopicList
    | TipResult
    | ScenarioResult
    | PracticeQuestion
    | PracticeOutcome
    | DailyAnswerResult
    | LeaderboardResult
    | StatsResult
    | Picked
    | GapsResult
)
"""Everything a command or a button gets back, for a channel to render."""
