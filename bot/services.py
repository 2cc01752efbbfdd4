"""Use cases: what `/virtsec` does, as typed results that any channel can render.

The Slack edge and the console both call `Study.execute` and render what it
returns; neither holds a rule of its own.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bot.commands import (
    USAGE,
    Command,
    Help,
    Lookup,
    Reload,
    ScenarioCommand,
    TipCommand,
    Topics,
)
from bot.knowledge_base import Concept, KnowledgeBase, KnowledgeError, Question, Scenario, Tip
from bot.lookup import ConceptIndex, LookupResult, build_index


@dataclass(frozen=True)
class Caller:
    """Who asked, and where."""

    team_id: str
    user_id: str
    channel_id: str = ""
    is_admin: bool = False
    timezone: str | None = None  # the person's own zone (default for `daily on`)


@dataclass(frozen=True)
class HelpResult:
    """Usage text."""

    usage: str


@dataclass(frozen=True)
class Notice:
    """A short message for the caller (an error, a refusal, or a feature not there yet)."""

    text: str
    error: bool = False


@dataclass(frozen=True)
class ConceptCard:
    """One concept, shown in full."""

    concept: Concept
    related: tuple[Concept, ...]


@dataclass(frozen=True)
class Answer:
    """The result of a lookup, with the concepts it names resolved."""

    lookup: LookupResult
    card: ConceptCard | None
    compared: tuple[ConceptCard, ...] = ()


@dataclass(frozen=True)
class TopicList:
    """Concepts grouped by tag."""

    groups: tuple[tuple[str, tuple[Concept, ...]], ...]
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


Response = (
    HelpResult
    | Notice
    | ConceptCard
    | Answer
    | TopicList
    | TipResult
    | ScenarioResult
    | PracticeQuestion
)

ADMIN_ONLY = "Only virtsec admins can do that. Ask a workspace admin, or see `/virtsec help`."


def may_administer(
    user_id: str, configured_admins: tuple[str, ...], workspace_admin: Callable[[], bool]
) -> bool:
    """Admins are VIRTSEC_ADMINS when set, otherwise workspace admins and owners."""
    if configured_admins:
        return user_id in configured_admins
    return workspace_admin()


class Study:
    """The study assistant's use cases over a (reloadable) knowledge base."""

    def __init__(self, load: Callable[[], KnowledgeBase], rng: random.Random | None = None):
        self._load = load
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        kb = load()
        self._state: tuple[KnowledgeBase, ConceptIndex] = (kb, build_index(kb))

    @property
    def kb(self) -> KnowledgeBase:
        """The current knowledge base."""
        return self._state[0]

    @property
    def index(self) -> ConceptIndex:
        """The current lookup index."""
        return self._state[1]

    def execute(self, command: Command, caller: Caller) -> Response:
        """Run a parsed `/virtsec` command for a caller."""
        if command.admin and not caller.is_admin:
            return Notice(ADMIN_ONLY, error=True)
        if isinstance(command, Lookup):
            return self.lookup(command.query)
        if isinstance(command, Help):
            return HelpResult(USAGE)
        if isinstance(command, Topics):
            return self.topics(command.tag)
        if isinstance(command, TipCommand):
            return self.tip()
        if isinstance(command, ScenarioCommand):
            return self.scenario(command.name)
        if isinstance(command, Reload):
            return self.reload()
        return Notice("I did not understand that. Try `/virtsec help`.", error=True)

    def lookup(self, query: str) -> Answer:
        """Look a concept up."""
        result = self.index.lookup(query)
        card = self.card(result.answer.concept) if result.answer else None
        compared = tuple(
            self.card(m.concept)
            for m in result.compared
            if not (result.answer and result.answer.concept.compares)
        )
        return Answer(result, card, compared)

    def card(self, concept: Concept) -> ConceptCard:
        """A concept with its related concepts resolved."""
        kb = self.kb
        return ConceptCard(
            concept, tuple(kb.concepts[r] for r in concept.related if r in kb.concepts)
        )

    def concept(self, concept_id: str) -> ConceptCard | Notice:
        """A concept by id (from a button), or a polite notice if it no longer exists."""
        concept = self.kb.concepts.get(concept_id)
        if concept is None:
            return Notice("That concept is no longer in the knowledge base.", error=True)
        return self.card(concept)

    def topics(self, tag: str | None) -> TopicList | Notice:
        """Concepts by tag; one tag when given."""
        kb = self.kb
        tags = kb.tags()
        if tag is not None and tag not in tags:
            return Notice(f"No topic called “{tag}”. Topics: {', '.join(tags)}.", error=True)
        chosen = {tag: tags[tag]} if tag else tags
        groups = tuple(
            (t, tuple(sorted((kb.concepts[i] for i in ids), key=lambda c: c.title)))
            for t, ids in chosen.items()
        )
        return TopicList(groups, tag)

    def tip(self) -> TipResult | Notice:
        """A random exam tip."""
        kb = self.kb
        if not kb.tips:
            return Notice("There are no exam tips in the knowledge base.")
        tip = kb.tips[self._rng.choice(sorted(kb.tips))]
        return TipResult(tip, tuple(kb.concepts[c] for c in tip.concepts if c in kb.concepts))

    def scenario(self, name: str | None) -> ScenarioResult | Notice:
        """A worked case: by id, or a random one."""
        kb = self.kb
        if not kb.scenarios:
            return Notice("There are no scenarios in the knowledge base.")
        if name is None:
            scenario = kb.scenarios[self._rng.choice(sorted(kb.scenarios))]
        elif name in kb.scenarios:
            scenario = kb.scenarios[name]
        else:
            return Notice(
                f"No scenario called “{name}”. Scenarios: {', '.join(sorted(kb.scenarios))}.",
                error=True,
            )
        return ScenarioResult(
            scenario, tuple(kb.concepts[c] for c in scenario.concepts if c in kb.concepts)
        )

    def grade_practice(self, question_id: str, chosen: int) -> PracticeOutcome | Notice:
        """Grade a practice answer; a stale or forged question id gets a notice."""
        question = self.kb.questions.get(question_id)
        if question is None or not 0 <= chosen < len(question.choices):
            return Notice(
                "That question is no longer available. Try `/virtsec quiz` for a new one.",
                error=True,
            )
        kb = self.kb
        return PracticeOutcome(
            question, chosen, tuple(kb.concepts[c] for c in question.concepts if c in kb.concepts)
        )

    def reload(self) -> Notice:
        """Reload the knowledge base; on errors keep the old one and say what is wrong."""
        try:
            kb = self._load()
        except KnowledgeError as exc:
            shown = "\n".join(str(p) for p in exc.problems[:10])
            more = f"\n…and {len(exc.problems) - 10} more" if len(exc.problems) > 10 else ""
            return Notice(
                f"The knowledge base has problems; still using the previous one:\n{shown}{more}",
                error=True,
            )
        with self._lock:
            self._state = (kb, build_index(kb))
        c = kb.counts()
        return Notice(
            f"Reloaded: {c['concepts']} concepts, {c['questions']} questions, "
            f"{c['tips']} tips, {c['scenarios']} scenarios."
        )
