"""Find the concept a question is about.

The index holds every concept's title, aliases and id as *names*. A query is
normalised (case, punctuation, question forms such as "what is" or "tell me
about", plurals), its words are corrected against the index's vocabulary
(one typo in words of five letters or more, two in words of eight or more;
short words, acronyms and numerals must match exactly), and each name that
shares a word with the query is scored by how much of the query it explains
and how much of the name the query covers, both weighted by how rare each word
is. Numerals must agree: "type 2" never answers a name that says "type 1".

Lookups are deterministic: ties are broken by concept id.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.fulltext import FullText
from bot.knowledge_base import Concept, KnowledgeBase, Question
from bot.lookup_text import content_tokens, normalize, stem, topic_words
from bot.spelling import Speller

ANSWER_THRESHOLD = 70.0
# Below this, a near-tie between two concepts is ambiguous ("security"), not an answer.
SURE_THRESHOLD = 90.0
MIN_LEAD = 3.0
# A lower score still answers when it clearly beats every other concept.
CLEAR_WINNER_THRESHOLD = 55.0
CLEAR_WINNER_MARGIN = 10.0
SUGGEST_THRESHOLD = 40.0
MAX_SUGGESTIONS = 3
_RANK_LIMIT = 8  # concepts ranked per lookup: an answer, suggestions, and a margin check
MAX_QUERY_TOKENS = 24
FUZZY_PENALTY = 0.85
DESC_BLEND = 0.3  # weight of the name score when the text explains the query better
UNKNOWN_WEIGHT = 0.6  # weight of a query word no name uses, relative to the rarest word
DESC_CAP = 90.0
ONE_WORD_TEXT_CAP = 50.0  # below any answer, above a suggestion
ONE_WORD_MIN_COVER = 0.55  # of a name's weight, for one word to answer it
CVE_DEMOTION = 0.7  # a CVE found by a bare product name it affects, not by its own name
TEXT_WEIGHT = 0.9
TEXT_LEAD_POWER = 1.0
QUERY_WEIGHT = 0.55
# A name made of one common word ("VMs") is not covered as fully as a specific one.
NAME_WEIGHT_FLOOR = 2.0  # explaining the whole query vs covering the whole name
_COMMON_POSTINGS = 250  # a word in more names than this only re-scores names found already

_COMPARISON_PATTERNS = [
    re.compile(r"\b(?:difference|differences|diff|distinguish)\s+between\s+(.+?)\s+and\s+(.+)$"),
    re.compile(r"\bcompare\s+(.+?)\s+(?:and|with|to|vs\.?|versus)\s+(.+)$"),
    re.compile(r"^(.+?)\s+(?:vs\.?|versus|compared\s+(?:to|with))\s+(.+)$"),
    re.compile(r"^(.+?)\s+or\s+(.+?)\s+(?:which|what)\b.*$"),
]
_ACRONYM_RE = re.compile(r"\b[A-Z][A-Z0-9]+[a-z]?[0-9]*\b")  # VDI, IOMMU, IMDSv2: never fuzzy


@dataclass(frozen=True)
class Match:
    """A concept with how well it matched (0-100)."""

    concept: Concept
    score: float


@dataclass(frozen=True)
class LookupResult:
    """The answer to a query, or honest suggestions when nothing matched well."""

    query: str
    answer: Match | None
    suggestions: tuple[Match, ...] = ()
    compared: tuple[Match, ...] = field(default=())


@dataclass
class _Name:
    concept_index: int
    text: str  # normalised
    tokens: tuple[str, ...]
    weight: float
    numerals: frozenset[str]


class ConceptIndex:
    """A search index over a knowledge base's concepts."""

    def __init__(self, concepts: Iterable[Concept], questions: Iterable[Question] = ()):
        self.concepts: list[Concept] = sorted(concepts, key=lambda c: c.id)
        self._surface: dict[str, str] = {}  # a word as written in a name -> its stem
        raw = self._read_names()
        n = max(len(self.concepts), 1)
        self._index_names(raw, n)
        self._text = FullText(self.concepts, questions)
        self._own_words = {  # what a query names a concept by (for the CVE rule)
            c.id: frozenset(content_tokens(normalize(f"{c.title} {c.id.replace('-', ' ')}")))
            for c in self.concepts
        }
        self._positions = {c.id: i for i, c in enumerate(self.concepts)}
        acronyms = {
            stem(m.lower())
            for c in self.concepts
            for name in (c.title, *c.aliases)
            for m in _ACRONYM_RE.findall(name)
        }
        self._speller = Speller(self._surface, self._idf, acronyms)

    def _read_names(self) -> list[tuple[int, str, list[str]]]:
        """Every concept's distinct names as (concept index, normalised text, stems)."""
        raw: list[tuple[int, str, list[str]]] = []
        seen: dict[str, int] = {}
        for ci, concept in enumerate(self.concepts):
            for name in (concept.title, *concept.aliases, concept.id.replace("-", " ")):
                text = normalize(name)
                if not text or (text in seen and raw[seen[text]][0] == ci):
                    continue
                words = topic_words(text)
                tokens = [stem(w) for w in words]
                for word, token in zip(words, tokens, strict=True):
                    self._surface.setdefault(word, token)
                seen.setdefault(text, len(raw))
                raw.append((ci, text, tokens))
        self._by_text = seen  # normalised name -> its first name index
        return raw

    def _index_names(self, raw: list[tuple[int, str, list[str]]], n: int) -> None:
        """Names weighted by word rarity, their postings, and each concept's numerals."""
        concept_df: dict[str, set[int]] = defaultdict(set)
        self._concept_numerals: list[frozenset[str]] = [frozenset()] * len(self.concepts)
        for ci, _text, tokens in raw:
            for t in tokens:
                concept_df[t].add(ci)
            digits = frozenset(t for t in tokens if t.isdigit())
            self._concept_numerals[ci] = self._concept_numerals[ci] | digits
        self._idf: dict[str, float] = {t: math.log(1 + n / len(s)) for t, s in concept_df.items()}
        self._unknown_idf = math.log(1 + n) * UNKNOWN_WEIGHT
        self._names: list[_Name] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for i, (ci, text, tokens) in enumerate(raw):
            weight = sum(self._idf[t] for t in tokens)
            numerals = frozenset(t for t in tokens if t.isdigit())
            self._names.append(_Name(ci, text, tuple(tokens), weight, numerals))
            for t in tokens:
                postings[t].append(i)
        self._postings = dict(postings)
        self._posting_sets = {
            t: frozenset(p) for t, p in postings.items() if len(p) > _COMMON_POSTINGS
        }

    # -- public

    def lookup(self, query: str) -> LookupResult:
        """Answer a query with the best concept, or no answer and up to 3 suggestions."""
        norm = normalize(query)
        compared = self._comparison(norm)
        if compared is not None:
            return LookupResult(query, *compared)
        ranked = self._rank(norm)
        return self._result(query, ranked)

    def numerals_agree(self, query: str, concept_id: str) -> bool:
        """False when the query names numbers the concept's names do not ("type 2" and
        type 1): a taught query must not get round the numeral guard."""
        position = self._positions.get(concept_id)
        if position is None:
            return False
        asked = {stem(w) for w in topic_words(normalize(query)) if stem(w).isdigit()}
        named = self._concept_numerals[position]
        return not (asked and named and not (asked & named)) and not (asked and not named)

    # -- internals

    def _result(self, query: str, ranked: list[Match]) -> LookupResult:
        top = ranked[0].score if ranked else 0.0
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        lead = top - runner_up
        if (top >= ANSWER_THRESHOLD and (lead >= MIN_LEAD or top >= SURE_THRESHOLD)) or (
            top >= CLEAR_WINNER_THRESHOLD and lead >= CLEAR_WINNER_MARGIN
        ):
            rest = tuple(m for m in ranked[1 : MAX_SUGGESTIONS + 1] if m.score >= SUGGEST_THRESHOLD)
            return LookupResult(query, ranked[0], rest)
        suggestions = tuple(m for m in ranked[:MAX_SUGGESTIONS] if m.score >= SUGGEST_THRESHOLD)
        return LookupResult(query, None, suggestions)

    def _comparison(
        self, norm: str
    ) -> tuple[Match | None, tuple[Match, ...], tuple[Match, ...]] | None:
        sides = None
        for pattern in _COMPARISON_PATTERNS:
            m = pattern.search(norm)
            if m:
                sides = (m.group(1).strip(), m.group(2).strip())
                break
        if sides is None:
            return None
        direct = self._rank(norm)
        if direct and (
            direct[0].score >= 100
            or (direct[0].score >= 90 and "comparison" in direct[0].concept.tags)
        ):
            return direct[0], tuple(direct[1 : MAX_SUGGESTIONS + 1]), ()
        left, right = (topic_words(s) for s in sides)
        if not left or not right:
            return None
        a = self._rank_tokens(left, whole=False)
        b = self._rank_tokens(right, whole=False)
        # "type 1 and type 2 hypervisors": a side too short to stand alone borrows the head noun
        if (not a or a[0].score < ANSWER_THRESHOLD) and right[-1] not in left:
            a = self._rank_tokens([*left, right[-1]], whole=False)
        if (not b or b[0].score < ANSWER_THRESHOLD) and left[-1] not in right:
            b = self._rank_tokens([*right, left[-1]], whole=False)
        if not a or not b or a[0].score < ANSWER_THRESHOLD or b[0].score < ANSWER_THRESHOLD:
            return None
        if a[0].concept.id == b[0].concept.id:
            return None
        pair = {a[0].concept.id, b[0].concept.id}
        for concept in self.concepts:
            if concept.compares and set(concept.compares) == pair:
                return Match(concept, 100.0), (), (a[0], b[0])
        return a[0], (), (a[0], b[0])

    def _rank(self, norm: str, limit: int = _RANK_LIMIT) -> list[Match]:
        exact = self._by_text.get(norm)
        if exact is not None:
            concept = self.concepts[self._names[exact].concept_index]
            rest = [
                m
                for m in self._rank_tokens(topic_words(norm), limit + 1)
                if m.concept.id != concept.id
            ]
            return [Match(concept, 100.0), *rest][:limit]
        return self._rank_tokens(topic_words(norm), limit)

    def _rank_tokens(
        self, tokens: list[str], limit: int = _RANK_LIMIT, *, whole: bool = True
    ) -> list[Match]:
        """Concepts ranked for a query's topic words (`whole` False: one side of a
        comparison, where one word stands for a concept, "containers or VMs")."""
        tokens = tokens[:MAX_QUERY_TOKENS]
        resolved, query_weight, query_numerals = self._resolve(tokens)
        acc: dict[int, float] = defaultdict(float)
        for word, credit, _w in resolved:
            plist = self._postings[word]
            if acc and len(plist) > _COMMON_POSTINGS:
                pset = self._posting_sets[word]
                for name_index in list(acc):
                    if name_index in pset:
                        acc[name_index] += credit
            else:
                for name_index in plist:
                    acc[name_index] += credit
        best: dict[int, float] = {}
        desc = self._describe(tokens, resolved)
        heard = [stem(t) for t in tokens] + [word for word, _c, _w in resolved]
        for name_index, matched in acc.items():
            name = self._names[name_index]
            numerals = self._concept_numerals[name.concept_index]
            if query_numerals and numerals and not (numerals & query_numerals):
                continue  # "type 2" never answers "type 1", nor CVE-2019-x a CVE-2015-y
            if name.numerals and query_numerals and not (name.numerals & query_numerals):
                continue
            if name.numerals - query_numerals and query_numerals:
                matched *= 0.9
            recall_query = min(matched / query_weight, 1.0)
            recall_name = min(matched / max(name.weight, NAME_WEIGHT_FLOOR), 1.0)
            score = 100.0 * (QUERY_WEIGHT * recall_query + (1 - QUERY_WEIGHT) * recall_name)
            concept = self.concepts[name.concept_index]
            if len(tokens) <= 2 and "cve" in concept.tags and not self._names_it(concept, heard):
                score *= CVE_DEMOTION  # "qemu" asks about QEMU, not about a bug in it
            if whole and len(tokens) == 1 and recall_name < ONE_WORD_MIN_COVER:
                # one word of a longer name ("buffer" in "QEMU FDC buffer overflow", "KVM"
                # in "floppy bug in KVM and Xen") is a hint, not a question about it
                score = min(score, ONE_WORD_TEXT_CAP)
            ci = name.concept_index
            # the whole text can lift a partial name match, never above a full one; one
            # word is no paraphrase ("buffer" is not a question about VENOM)
            if len(tokens) > 1:
                blended = DESC_BLEND * score + TEXT_WEIGHT * desc.get(ci, 0.0)
                score = max(score, _soft_cap(blended))
            if score > best.get(ci, -1.0):
                best[ci] = score
        for ci, text_score in desc.items():  # found by its text alone
            if ci in best:
                continue
            numerals = self._concept_numerals[ci]
            if query_numerals and numerals and not (numerals & query_numerals):
                continue
            score = _soft_cap(TEXT_WEIGHT * text_score)
            # a word the notes only mention ("dom0") suggests where they do, no more
            best[ci] = score if len(tokens) > 1 else min(score, ONE_WORD_TEXT_CAP)
        ranked = heapq.nsmallest(
            limit, best.items(), key=lambda kv: (-kv[1], self.concepts[kv[0]].id)
        )
        return [Match(self.concepts[ci], round(score, 1)) for ci, score in ranked]

    def _resolve(self, tokens: list[str]) -> tuple[list[tuple[str, float, float]], float, set[str]]:
        """Each query word mapped to an index word (exact, or typo-corrected) as (index word,
        credit, weight), heaviest first; the query's total weight; its numerals."""
        resolved: list[tuple[str, float, float]] = []
        query_weight = 0.0
        query_numerals: set[str] = set()
        for word in tokens:
            token = stem(word)
            if token.isdigit():
                query_numerals.add(token)
            if token in self._postings:
                w = self._idf[token]
                resolved.append((token, w, w))
                query_weight += w
                continue
            corrected = self._speller.correct(word)
            if corrected is None:
                query_weight += self._unknown_idf
                continue
            w = self._idf[corrected]
            resolved.append((corrected, w * FUZZY_PENALTY, w))
            query_weight += w
        resolved.sort(key=lambda r: (-r[2], r[0]))
        return resolved, query_weight, query_numerals

    def _names_it(self, concept: Concept, words: list[str]) -> bool:
        """True when the query (stemmed, corrected words) uses a word of the concept's
        title or id ("venom", "2015")."""
        own = self._own_words[concept.id]
        return any(w in own for w in words)

    def _describe(
        self, tokens: list[str], resolved: list[tuple[str, float, float]]
    ) -> dict[int, float]:
        """Per concept: the share (0-100) of the query its whole text explains."""
        stems = [stem(t) for t in tokens]
        corrected = [w for w, _c, _w in resolved if w not in stems and self._text.knows(w)]
        found = self._text.search([*stems, *corrected])
        if not found:
            return {}
        best = max(m.raw for m in found.values())
        # the share says whether the text explains the query at all; the BM25 score,
        # relative to the best, which of several texts that do explains it best
        return {ci: 100.0 * m.share * (m.raw / best) ** TEXT_LEAD_POWER for ci, m in found.items()}


def _soft_cap(score: float) -> float:
    """Scores from text stay below a full name match (100) and keep their order."""
    return score if score <= DESC_CAP else DESC_CAP + (score - DESC_CAP) * 0.1


def build_index(kb: KnowledgeBase) -> ConceptIndex:
    """Build the search index for a knowledge base."""
    return ConceptIndex(kb.concepts.values(), kb.questions.values())
