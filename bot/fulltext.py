"""The second stage of lookup: full-text ranking over everything an entry says.

Each concept is a document made of fields, weighted: its names, summary, exam tip and
details, and the prompts and explanations of the questions that test it. Words are
weighted BM25-style: rare words count more (inverse document frequency), repeats count
with diminishing returns, and long documents are normalised by length, so a concept is
not found merely for saying a lot.

A concept's score is the share (0-1) of the query's weight it explains: each query word
contributes its IDF times its saturated term frequency, capped at one, over the sum of
the IDFs of every query word (a word found in no document counts in the total, so an
off-topic query stays low). A concept that shares only one word with a query of several
is no paraphrase of it, and common words (in more than a third of the documents) never
find a concept on their own (in a large knowledge base, neither do words in more than
250 documents: they re-score the concepts rarer words found)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.knowledge_base import Concept, Question
from bot.lookup_text import STOP_WORDS, normalize, stem

K1 = 1.2
B = 0.75
NAME_FIELD = 3.0
SUMMARY_FIELD = 1.5
TIP_FIELD = 1.0
DETAILS_FIELD = 1.0
QUESTION_FIELD = 0.5
COMMON_SHARE = 1 / 3  # a word in more documents than this never finds a concept alone
MAX_CANDIDATE_POSTINGS = 250  # ... nor one in more than this many, in a large base


@dataclass(frozen=True)
class TextMatch:
    """How much of a query one concept's text explains."""

    share: float  # 0-1, of the query's weight
    raw: float  # the BM25 score, to rank texts that explain as much


class FullText:
    """A BM25F-style index over concepts (documents, by position in `concepts`)."""

    def __init__(self, concepts: Sequence[Concept], questions: Iterable[Question] = ()) -> None:
        by_concept: dict[str, list[Question]] = defaultdict(list)
        for question in questions:
            for concept_id in question.concepts:
                by_concept[concept_id].append(question)
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        lengths: list[float] = []
        for ci, concept in enumerate(concepts):
            fields = [
                (" ".join((concept.title, *concept.aliases)), NAME_FIELD),
                (concept.summary, SUMMARY_FIELD),
                (concept.exam_tip, TIP_FIELD),
                (concept.details, DETAILS_FIELD),
                *(
                    (f"{q.prompt} {q.explanation}", QUESTION_FIELD)
                    for q in by_concept.get(concept.id, ())
                ),
            ]
            length = 0.0
            for text, weight in fields:
                tokens = _tokens(text)
                length += weight * len(tokens)
                for token in tokens:
                    doc = postings[token]
                    doc[ci] = doc.get(ci, 0.0) + weight
            lengths.append(length)
        n = max(len(concepts), 1)
        self._n = n
        self._postings = dict(postings)
        self._idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()
        }
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        average = sum(lengths) / n if lengths else 1.0
        self._norm = [K1 * (1 - B + B * length / max(average, 1.0)) for length in lengths]
        self._common = max(2, min(int(n * COMMON_SHARE), MAX_CANDIDATE_POSTINGS))

    def knows(self, token: str) -> bool:
        """True when some concept's text uses the (stemmed) word."""
        return token in self._postings

    def search(self, tokens: Sequence[str]) -> dict[int, TextMatch]:
        """Per concept index: how much of the query (stemmed words) its text explains."""
        tokens = list(dict.fromkeys(tokens))
        total = sum(self._idf.get(t, self._unknown_idf) for t in tokens)
        if not total:
            return {}
        known = [t for t in tokens if t in self._postings]
        rare_words = [t for t in known if len(self._postings[t]) <= self._common]
        # candidates come from the rare words' postings; a common word only adds to them
        rare: dict[int, int] = defaultdict(int)
        for token in rare_words:
            for ci in self._postings[token]:
                rare[ci] += 1
        needed = 2 if len(tokens) > 1 else 1
        found: dict[int, TextMatch] = {}
        for ci, count in rare.items():
            if count < needed:
                continue
            share = raw = 0.0
            for token in known:
                tf = self._postings[token].get(ci)
                if tf is None:
                    continue
                idf = self._idf[token]
                saturated = tf * (K1 + 1) / (tf + self._norm[ci])
                raw += idf * saturated
                share += idf * min(saturated, 1.0)
            found[ci] = TextMatch(share / total, raw)
        return found


def _tokens(text: str) -> list[str]:
    """Every topic word of a text, stemmed, with repeats (term frequency counts them)."""
    return [stem(w) for w in normalize(text, limit=None).split() if w not in STOP_WORDS]
