"""Studying the notes: look a concept up, browse topics, tips and scenarios."""

from __future__ import annotations

import random

from bot.commands import shown
from bot.knowledge_base import Concept
from bot.library import KnowledgeSource
from bot.results import (
    ConceptCard,
    LookupReply,
    Notice,
    ScenarioResult,
    TipResult,
    TopicGroup,
    TopicList,
)

GONE = "That concept is no longer in the knowledge base."


class Study:
    """Lookup and browsing over the current knowledge base."""

    def __init__(self, knowledge: KnowledgeSource, rng: random.Random | None = None):
        self.knowledge = knowledge
        self._rng = rng or random.Random()

    def lookup(self, query: str) -> LookupReply:
        """Look a concept up."""
        result = self.knowledge.index.lookup(query)
        card = self.card(result.answer.concept) if result.answer else None
        compared = tuple(
            self.card(m.concept)
            for m in result.compared
            if not (result.answer and result.answer.concept.compares)
        )
        return LookupReply(result, card, compared)

    def card(self, concept: Concept) -> ConceptCard:
        """A concept with its related concepts resolved."""
        return ConceptCard(concept, self.knowledge.kb.concepts_of(concept.related))

    def concept(self, concept_id: str) -> ConceptCard | Notice:
        """A concept by id (from a button), or a polite notice if it no longer exists."""
        concept = self.knowledge.kb.concepts.get(concept_id)
        if concept is None:
            return Notice(GONE, error=True)
        return self.card(concept)

    def topics(self, tag: str | None) -> TopicList | Notice:
        """Concepts by tag; one tag when given."""
        kb = self.knowledge.kb
        tags = kb.tags()
        if tag is not None and tag not in tags:
            return Notice(f"No topic called “{shown(tag)}”. Topics: {', '.join(tags)}.", error=True)
        chosen = {tag: tags[tag]} if tag else tags
        groups = tuple(
            TopicGroup(t, tuple(sorted(kb.concepts_of(ids), key=lambda c: c.title)))
            for t, ids in chosen.items()
        )
        return TopicList(groups, tag)

    def tip(self) -> TipResult | Notice:
        """A random exam tip."""
        kb = self.knowledge.kb
        if not kb.tips:
            return Notice("There are no exam tips in the knowledge base.")
        tip = kb.tips[self._rng.choice(sorted(kb.tips))]
        return TipResult(tip, kb.concepts_of(tip.concepts))

    def scenario(self, name: str | None) -> ScenarioResult | Notice:
        """A worked case: by id, or a random one."""
        kb = self.knowledge.kb
        if not kb.scenarios:
            return Notice("There are no scenarios in the knowledge base.")
        if name is None:
            scenario = kb.scenarios[self._rng.choice(sorted(kb.scenarios))]
        elif name in kb.scenarios:
            scenario = kb.scenarios[name]
        else:
            return Notice(
                f"No scenario called “{shown(name)}”. "
                f"Scenarios: {', '.join(sorted(kb.scenarios))}.",
                error=True,
            )
        return ScenarioResult(scenario, kb.concepts_of(scenario.concepts))
