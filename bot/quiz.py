"""Which daily question a channel gets: no repeats until the pool is used up, concepts
covered evenly, and the same pick for the same channel and slot."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

from bot.knowledge_base import KnowledgeBase, Question

T = TypeVar("T")


def choose_question(kb: KnowledgeBase, used: dict[str, int], seed: str) -> Question:
    """No repeat until the pool is used up; among the least-used questions, the concept
    the channel has seen least. Deterministic for a seed (channel and slot)."""
    questions = sorted(kb.questions.values(), key=lambda q: q.id)
    if not questions:
        raise LookupError("the knowledge base has no questions")
    fewest = min(used.get(q.id, 0) for q in questions)
    fresh = [q for q in questions if used.get(q.id, 0) == fewest]
    concept_uses: dict[str, int] = {}
    for q in questions:
        concept_uses.setdefault(q.concepts[0], 0)
        concept_uses[q.concepts[0]] += used.get(q.id, 0)
    least = min(concept_uses[q.concepts[0]] for q in fresh)
    candidates = [q for q in fresh if concept_uses[q.concepts[0]] == least]
    return seeded_choice(seed, candidates)


def seeded_choice(seed: str, items: Sequence[T]) -> T:
    """A pick that depends only on the seed: the same seed picks the same item."""
    return random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16)).choice(items)
