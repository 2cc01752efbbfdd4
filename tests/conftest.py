"""Shared fixtures: the real bundled knowledge base, loaded once."""

from __future__ import annotations

import pytest

from bot import knowledge_base
from bot.knowledge_base import KnowledgeBase
from bot.lookup import ConceptIndex, build_index


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The bundled knowledge base (knowledge/), validated."""
    return knowledge_base.load([knowledge_base.bundled_knowledge_dir()])


@pytest.fixture(scope="session")
def index(kb: KnowledgeBase) -> ConceptIndex:
    """The lookup index over the bundled knowledge base."""
    return build_index(kb)
