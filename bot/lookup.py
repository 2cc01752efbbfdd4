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

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge_base import Concept, KnowledgeBase

ANSWER_THRESHOLD = 70.0
SUGGEST_THRESHOLD = 40.0
MAX_SUGGESTIONS = 3
MAX_QUERY_CHARS = 500
MAX_QUERY_TOKENS = 24
FUZZY_PENALTY = 0.85
_COMMON_POSTINGS = 1000

# Words that carry no topic: question forms and function words.
STOP_WORDS = frozenset(
    """
    a an the is are was were be been being am of to in on at by for from with into as
    and or if so than then that this these those it its it's there their they them
    what whats what's which who whom whose why when where how
    do does did doing done can could would should will shall may might must
    i me my we us our you your he she his her
    define definition definitions explain explanation describe description tell about
    meaning mean means meant stand stands called term concept please pls
    know learn understand info information details detail overview summary eli5 idea
    give show some any anything something thing things kind kinds type-of
    between difference differences different compare compared comparison versus vs
    exactly actually really basically simply just like also
    """.split()
)

_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3"}
_ROMAN_AFTER_TYPE = re.compile(r"\btype[\s-]*(i{1,2}|one|two|[12])\b")
_COMPARISON_PATTERNS = [
    re.compile(r"\b(?:difference|differences|diff|distinguish)\s+between\s+(.+?)\s+and\s+(.+)$"),
    re.compile(r"\bcompare\s+(.+?)\s+(?:and|with|to|vs\.?|versus)\s+(.+)$"),
    re.compile(r"^(.+?)\s+(?:vs\.?|versus|compared\s+(?:to|with))\s+(.+)$"),
    re.compile(r"^(.+?)\s+or\s+(.+?)\s+(?:which|what)\b.*$"),
]
_TOKEN_RE = re.compile(r"[a-z0-9]+")


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

    @property
    def found(self) -> bool:
        """True when there is a confident answer."""
        return self.answer is not None


def normalize(text: str) -> str:
    """Lowercase, fold accents and punctuation, unify numerals ("Type II" -> "type 2")."""
    text = unicodedata.normalize("NFKD", text[:MAX_QUERY_CHARS])
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'").replace("'s ", " ").replace("'s", "")
    text = _ROMAN_AFTER_TYPE.sub(
        lambda m: "type " + {"i": "1", "ii": "2"}.get(m.group(1), _NUMBER_WORDS.get(
            m.group(1), m.group(1))), text)
    text = re.sub(r"\btype(\d)\b", r"type \1", text)
    return " ".join(_TOKEN_RE.findall(text))


def stem(token: str) -> str:
    """A light, symmetric plural stemmer ("hypervisors" -> "hypervisor", "vms" -> "vm")."""
    if len(token) >= 5 and token.endswith("ies"):
        return token[:-3] + "y"
    if (len(token) >= 3 and token.endswith("s") and not token.endswith(("ss", "us", "is"))
            and not token[-2].isdigit()):
        return token[:-1]
    return token


def content_tokens(normalized: str) -> list[str]:
    """The topic words of a normalised text, stemmed, in order, without repeats."""
    words = normalized.split()
    kept = [w for w in words if w not in STOP_WORDS] or words
    out: list[str] = []
    for word in kept:
        s = stem(word)
        if s not in out:
            out.append(s)
    return out


def _is_numeral(token: str) -> bool:
    return any(c.isdigit() for c in token)


@dataclass
class _Name:
    concept_index: int
    text: str  # normalised
    tokens: tuple[str, ...]
    weight: float
    numerals: frozenset[str]


class ConceptIndex:
    """A search index over a knowledge base's concepts."""

    def __init__(self, concepts: Iterable[Concept]):
        self.concepts: list[Concept] = sorted(concepts, key=lambda c: c.id)
        self._names: list[_Name] = []
        self._by_text: dict[str, int] = {}
        postings: dict[str, list[int]] = defaultdict(list)
        concept_df: dict[str, set[int]] = defaultdict(set)
        raw: list[tuple[int, str, list[str]]] = []
        for ci, concept in enumerate(self.concepts):
            for name in (concept.title, *concept.aliases, concept.id.replace("-", " ")):
                text = normalize(name)
                if not text or (text in self._by_text and
                                self._names[self._by_text[text]].concept_index == ci):
                    continue
                tokens = content_tokens(text)
                raw.append((ci, text, tokens))
                for t in tokens:
                    concept_df[t].add(ci)
                self._by_text.setdefault(text, len(raw) - 1)
                # placeholder; weights need the idf table first
                self._names.append(_Name(ci, text, tuple(tokens), 0.0, frozenset()))
        n = max(len(self.concepts), 1)
        self._idf: dict[str, float] = {t: math.log(1 + n / len(s)) for t, s in concept_df.items()}
        self._unknown_idf = math.log(1 + n)
        for i, (ci, text, tokens) in enumerate(raw):
            self._names[i] = _Name(
                ci, text, tuple(tokens), sum(self._idf[t] for t in tokens),
                frozenset(t for t in tokens if _is_numeral(t)))
            for t in tokens:
                postings[t].append(i)
        self._postings = dict(postings)
        self._posting_sets = {t: frozenset(p) for t, p in postings.items()
                              if len(p) > _COMMON_POSTINGS}
        # typo index: every word and its one-deletion variants -> words
        self._deletes: dict[str, list[str]] = defaultdict(list)
        self._by_length: dict[int, list[str]] = defaultdict(list)
        for word in self._postings:
            if _fuzzy_allowed(word):
                for variant in {word, *_deletions(word)}:
                    self._deletes[variant].append(word)
                self._by_length[len(word)].append(word)

    # -- public

    def lookup(self, query: str) -> LookupResult:
        """Answer a query with the best concept, or no answer and up to 3 suggestions."""
        norm = normalize(query)
        compared = self._comparison(norm)
        if compared is not None:
            return LookupResult(query, *compared)
        ranked = self._rank(norm)
        return self._result(query, ranked)

    def search(self, query: str, limit: int = 5) -> list[Match]:
        """The best-scoring concepts for a query, highest first."""
        return self._rank(normalize(query))[:limit]

    # -- internals

    def _result(self, query: str, ranked: list[Match]) -> LookupResult:
        if ranked and ranked[0].score >= ANSWER_THRESHOLD:
            rest = tuple(m for m in ranked[1:MAX_SUGGESTIONS + 1] if m.score >= SUGGEST_THRESHOLD)
            return LookupResult(query, ranked[0], rest)
        suggestions = tuple(m for m in ranked[:MAX_SUGGESTIONS] if m.score >= SUGGEST_THRESHOLD)
        return LookupResult(query, None, suggestions)

    def _comparison(self, norm: str) -> tuple[Match | None, tuple[Match, ...],
                                               tuple[Match, ...]] | None:
        sides = None
        for pattern in _COMPARISON_PATTERNS:
            m = pattern.search(norm)
            if m:
                sides = (m.group(1).strip(), m.group(2).strip())
                break
        if sides is None:
            return None
        direct = self._rank(norm)
        if direct and direct[0].score >= 90 and direct[0].concept.compares:
            return direct[0], tuple(direct[1:MAX_SUGGESTIONS + 1]), ()
        left, right = (content_tokens(s) for s in sides)
        if not left or not right:
            return None
        # "type 1 and type 2 hypervisors": the shorter side borrows the head noun
        if len(left) < len(right) and right[-1] not in left:
            left = [*left, right[-1]]
        elif len(right) < len(left) and left[-1] not in right:
            right = [*right, left[-1]]
        a = self._rank_tokens(left)
        b = self._rank_tokens(right)
        if not a or not b or a[0].score < ANSWER_THRESHOLD or b[0].score < ANSWER_THRESHOLD:
            return None
        if a[0].concept.id == b[0].concept.id:
            return None
        pair = {a[0].concept.id, b[0].concept.id}
        for concept in self.concepts:
            if concept.compares and set(concept.compares) == pair:
                return Match(concept, 100.0), (), (a[0], b[0])
        return a[0], (), (a[0], b[0])

    def _rank(self, norm: str) -> list[Match]:
        exact = self._by_text.get(norm)
        if exact is not None:
            concept = self.concepts[self._names[exact].concept_index]
            rest = [m for m in self._rank_tokens(content_tokens(norm))
                    if m.concept.id != concept.id]
            return [Match(concept, 100.0), *rest]
        return self._rank_tokens(content_tokens(norm))

    def _rank_tokens(self, tokens: list[str]) -> list[Match]:
        tokens = tokens[:MAX_QUERY_TOKENS]
        if not tokens:
            return []
        # map each query token to index words (exact, or typo-corrected)
        resolved: list[tuple[str, float, float]] = []  # index word, credit, query weight
        query_weight = 0.0
        query_numerals: set[str] = set()
        for token in tokens:
            if _is_numeral(token):
                query_numerals.add(token)
            if token in self._postings:
                w = self._idf[token]
                resolved.append((token, w, w))
                query_weight += w
                continue
            corrected = self._correct(token)
            if corrected is None:
                query_weight += self._unknown_idf
                continue
            w = self._idf[corrected]
            resolved.append((corrected, w * FUZZY_PENALTY, w))
            query_weight += w
        if not resolved:
            return []
        resolved.sort(key=lambda r: (-r[2], r[0]))
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
        for name_index, matched in acc.items():
            name = self._names[name_index]
            if name.numerals and query_numerals and not (name.numerals & query_numerals):
                continue  # "type 2" never answers "type 1"
            if name.numerals - query_numerals and query_numerals:
                matched *= 0.9
            recall_query = min(matched / query_weight, 1.0)
            recall_name = min(matched / name.weight, 1.0) if name.weight else 0.0
            score = 100.0 * (0.55 * recall_query + 0.45 * recall_name)
            ci = name.concept_index
            if score > best.get(ci, -1.0):
                best[ci] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], self.concepts[kv[0]].id))
        return [Match(self.concepts[ci], round(score, 1)) for ci, score in ranked]

    def _correct(self, token: str) -> str | None:
        """The index word a misspelt token most likely means, or None."""
        if not _fuzzy_allowed(token) or len(token) > 40:
            return None
        limit = 2 if len(token) >= 8 else 1
        candidates: set[str] = set()
        for variant in {token, *_deletions(token)}:
            candidates.update(self._deletes.get(variant, ()))
        best: tuple[int, float, str] | None = None
        for word in candidates:
            d = OSA.distance(token, word, score_cutoff=limit)
            if d > limit or (len(token) == 4 and sorted(token) != sorted(word)):
                continue
            key = (d, -self._idf[word], word)
            if best is None or key < (best[0], best[1], best[2]):
                best = (d, -self._idf[word], word)
        if best is None and limit == 2:
            pool = [w for n in range(len(token) - 2, len(token) + 3)
                    for w in self._by_length.get(n, ())]
            hit = process.extractOne(token, pool, scorer=OSA.distance, score_cutoff=limit)
            if hit is not None:
                return str(hit[0])
        return best[2] if best else None


def _fuzzy_allowed(word: str) -> bool:
    """Short words, numerals and acronym-sized tokens must match exactly."""
    return len(word) >= 4 and not _is_numeral(word)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def build_index(kb: KnowledgeBase) -> ConceptIndex:
    """Build the search index for a knowledge base."""
    return ConceptIndex(kb.concepts.values())
