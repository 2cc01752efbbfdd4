"""The knowledge base in use, and its lookup index: the one thing every use case reads.

Use cases take a `KnowledgeSource` (anything with `kb` and `index`) rather than the library
itself, so they cannot reload it; `/virtsec reload` goes through `Library.reload`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from bot.knowledge_base import KnowledgeBase, KnowledgeError
from bot.lookup import ConceptIndex, build_index
from bot.results import Notice

SHOWN_PROBLEMS = 10


class KnowledgeSource(Protocol):
    """Where a use case reads the current knowledge base."""

    @property
    def kb(self) -> KnowledgeBase:
        """The current knowledge base."""

    @property
    def index(self) -> ConceptIndex:
        """The current lookup index."""


class Library:
    """A reloadable knowledge base with its index, swapped as one."""

    def __init__(self, load: Callable[[], KnowledgeBase], loaded: KnowledgeBase | None = None):
        """`load` reads the knowledge base (now, unless it was `loaded` already, and on
        every reload)."""
        self._load = load
        self._lock = threading.Lock()
        kb = loaded or load()
        self._state: tuple[KnowledgeBase, ConceptIndex] = (kb, build_index(kb))

    @property
    def kb(self) -> KnowledgeBase:
        """The current knowledge base."""
        return self._state[0]

    @property
    def index(self) -> ConceptIndex:
        """The current lookup index."""
        return self._state[1]

    def reload(self) -> Notice:
        """Reload the knowledge base; on errors keep the old one and say what is wrong."""
        try:
            kb = self._load()
        except KnowledgeError as exc:
            shown = "\n".join(str(p) for p in exc.problems[:SHOWN_PROBLEMS])
            extra = len(exc.problems) - SHOWN_PROBLEMS
            more = f"\n…and {extra} more" if extra > 0 else ""
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
