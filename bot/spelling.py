"""Typo correction against the words the index knows: one edit in words of four letters or
more, two in words of eight or more; short words, numerals and acronyms must match exactly."""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.lookup_text import is_numeral

MAX_WORD = 40


class Speller:
    """Maps a misspelt word to the stem of the index word it most likely means."""

    def __init__(self, surface: dict[str, str], idf: dict[str, float], acronyms: set[str]):
        """`surface`: each word as written in a name -> its stem; `idf`: stem -> rarity
        (rarer words win ties); `acronyms`: stems that never fuzzy-match."""
        self._surface = surface
        self._idf = idf
        self._deletes: dict[str, list[str]] = defaultdict(list)
        self._by_length: dict[int, list[str]] = defaultdict(list)
        for word, token in surface.items():
            if _fuzzy_allowed(word) and token not in acronyms:
                for variant in {word, *_deletions(word)}:
                    self._deletes[variant].append(word)
                self._by_length[len(word)].append(word)

    def correct(self, token: str) -> str | None:
        """The index word a misspelt token most likely means, or None."""
        if not _fuzzy_allowed(token) or len(token) > MAX_WORD:
            return None
        limit = 2 if len(token) >= 8 else 1
        candidates: set[str] = set()
        for variant in {token, *_deletions(token)}:
            candidates.update(self._deletes.get(variant, ()))
        best: tuple[int, int, float, str] | None = None
        for word in candidates:
            d = OSA.distance(token, word, score_cutoff=limit)
            if d > limit or (len(token) == 4 and sorted(token) != sorted(word)):
                continue
            key = (d, abs(len(word) - len(token)), -self._idf[self._surface[word]], word)
            if best is None or key < best:
                best = key
        if best is None and limit == 2:
            pool = [
                w for n in range(len(token) - 2, len(token) + 3) for w in self._by_length.get(n, ())
            ]
            hit = process.extractOne(token, pool, scorer=OSA.distance, score_cutoff=limit)
            if hit is not None:
                return self._surface[str(hit[0])]
        return self._surface[best[3]] if best else None


def _fuzzy_allowed(word: str) -> bool:
    """Short words, numerals and acronym-sized tokens must match exactly."""
    return len(word) >= 4 and not is_numeral(word)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
