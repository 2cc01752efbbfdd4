"""Query and name text, made comparable: normalised, stop words dropped, lightly stemmed."""

from __future__ import annotations

import re
import unicodedata

MAX_QUERY_CHARS = 500

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
    t s d ll re ve m don doesn isn aren wasn won can cant dont
    """.split()
)

_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3"}
_ROMAN_AFTER_TYPE = re.compile(r"\btype[\s-]*(i{1,2}|one|two|[12])\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_HOW_DOES_IT_WORK = re.compile(r"\bhow (does|do|did|can) (.+?) work(?:s|ing)?\b")
# Phrases with one canonical spelling, applied to queries and names alike.
_CANONICAL = [
    (re.compile(r"\bvirtual machines?\b"), "vm"),
    (re.compile(r"\bvirtualisation\b"), "virtualization"),
    (re.compile(r"\bneighbours?\b"), "neighbor"),
    (re.compile(r"\bk8s\b"), "kubernetes"),
]


def normalize(text: str, limit: int | None = MAX_QUERY_CHARS) -> str:
    """Lowercase, fold accents and punctuation, unify numerals ("Type II" -> "type 2");
    a query is read up to `limit` characters (None: a whole text of the notes)."""
    text = unicodedata.normalize("NFKD", text[:limit] if limit is not None else text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'").replace("'s ", " ").replace("'s", "")
    text = _ROMAN_AFTER_TYPE.sub(
        lambda m: (
            "type "
            + {"i": "1", "ii": "2"}.get(m.group(1), _NUMBER_WORDS.get(m.group(1), m.group(1)))
        ),
        text,
    )
    text = re.sub(r"\btype(\d)\b", r"type \1", text)
    text = " ".join(_TOKEN_RE.findall(text))
    text = _HOW_DOES_IT_WORK.sub(r"how \1 \2", text)  # a question form, like "what is"
    for pattern, canonical in _CANONICAL:
        text = pattern.sub(canonical, text)
    return text


def stem(token: str) -> str:
    """A light, symmetric stemmer: plurals, -ing, -ed, final -e ("escaping" ~ "escape")."""
    if is_numeral(token):
        return token
    if len(token) >= 5 and token.endswith("ies"):
        token = token[:-3] + "y"
    elif len(token) >= 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    for suffix in ("ing", "ed"):
        if len(token) >= len(suffix) + 4 and token.endswith(suffix):
            token = token[: -len(suffix)]
            if len(token) >= 4 and token[-1] == token[-2] and token[-1] not in "aeiouls":
                token = token[:-1]
            break
    if len(token) >= 5 and token.endswith("e"):
        token = token[:-1]
    return token


def topic_words(normalized: str) -> list[str]:
    """The words of a normalised text that carry its topic, in order, one per stem."""
    words = normalized.split()
    kept = [w for w in words if w not in STOP_WORDS] or words
    out: list[str] = []
    stems: set[str] = set()
    for word in kept:
        s = stem(word)
        if s not in stems:
            stems.add(s)
            out.append(word)
    return out


def content_tokens(normalized: str) -> list[str]:
    """The topic words of a normalised text, stemmed, in order, without repeats."""
    return [stem(w) for w in topic_words(normalized)]


def is_numeral(token: str) -> bool:
    """True for a word with a digit in it ("2", "v2", "cve-2015-3456" parts)."""
    return any(c.isdigit() for c in token)
