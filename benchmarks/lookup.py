"""Lookup latency and load time: virtsec's index vs naive rapidfuzz and difflib.

Prints, in one run:
- load + index time of the bundled knowledge base;
- p50/p99 lookup latency over the bundled knowledge base (the test query sets), and
  accuracy by kind on each set (ours, and the two held-out sets);
- p50/p99 over a generated knowledge base of 10,000 concepts x 5 aliases, side by
  side with a naive ``rapidfuzz.process.extractOne(query, names, scorer=WRatio)``
  and ``difflib.get_close_matches`` over the same names, with each one's top-1
  accuracy on the generated queries.

Run: ``.venv/bin/python benchmarks/lookup.py`` (add ``--queries N`` to change
the number of generated queries; difflib gets a tenth of them: it is slow).
"""

from __future__ import annotations

import argparse
import difflib
import gc
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import knowledge_base  # noqa: E402
from bot.knowledge_base import Concept  # noqa: E402
from bot.lookup import ConceptIndex, build_index  # noqa: E402

SYLLABLES = [
    a + b
    for a in "bcdfghklmnprstvz"
    for b in ("a", "e", "i", "o", "u", "ar", "en", "is", "on", "ul")
]


def percentile(samples: Sequence[float], pct: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(fn: Callable[[str], object], queries: Sequence[str]) -> tuple[list[float], list[object]]:
    gc.collect()
    times, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - t0) * 1000)
    return times, results


def generate(n_concepts: int, n_aliases: int, seed: int = 7) -> list[Concept]:
    """A synthetic knowledge base with a Zipf-like word distribution."""
    rng = random.Random(seed)
    vocab: list[str] = []
    seen: set[str] = set()
    while len(vocab) < 20_000:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            vocab.append(word)
    cum = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(len(vocab))))

    def phrase(k: int) -> str:
        return " ".join(rng.choices(vocab, cum_weights=cum, k=k))

    concepts, names = [], set()
    for i in range(n_concepts):
        title = phrase(rng.randint(2, 3))
        aliases: list[str] = []
        while len(aliases) < n_aliases:
            a = phrase(rng.randint(1, 4))
            if a not in names and a != title:
                names.add(a)
                aliases.append(a)
        names.add(title)
        concepts.append(
            Concept(
                id=f"c-{i}",
                title=title,
                aliases=tuple(aliases),
                summary="generated",
                tags=("generated",),
                sources=("generated",),
            )
        )
    return concepts


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # transposition


def generated_queries(concepts: list[Concept], n: int, seed: int = 11) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for _ in range(n):
        c = rng.choice(concepts)
        name = rng.choice((c.title, *c.aliases))
        roll = rng.random()
        if roll < 0.4:
            q = name
        elif roll < 0.7:
            q = " ".join(typo(w, rng) for w in name.split())
        else:
            q = f"what is {name}?"
        out.append((q, c.id))
    return out


def bundled_queries() -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("lookup_queries*.yaml")):
        out += [item["q"] for item in yaml.safe_load(path.read_text())["queries"]]
    return out


def accuracy_by_kind(index: ConceptIndex) -> None:
    """Per query set and kind: the share answered right (out-of-scope: rejected)."""
    print("  accuracy by kind (out-of-scope: share rejected)")
    for path in sorted((ROOT / "tests" / "data").glob("lookup_queries*.yaml")):
        tally: dict[str, list[int]] = {}
        for item in yaml.safe_load(path.read_text())["queries"]:
            result = index.lookup(item["q"])
            got = result.answer.concept.id if result.answer else None
            right, total = tally.setdefault(item["kind"], [0, 0])
            tally[item["kind"]] = [right + (got == item["expect"]), total + 1]
        kinds = "  ".join(f"{k} {r}/{t} {r / t:.0%}" for k, (r, t) in sorted(tally.items()))
        print(f"    {path.stem:<30} {kinds}")


def line(label: str, times: Sequence[float], extra: str = "") -> None:
    print(
        f"  {label:<34} p50 {percentile(times, 50):8.3f} ms   p99 {percentile(times, 99):8.3f} ms"
        f"   n={len(times)}{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()

    print("Bundled knowledge base")
    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        kb = knowledge_base.load()
        index = build_index(kb)
        loads.append((time.perf_counter() - t0) * 1000)
    print(
        f"  load + validate + index: median {statistics.median(loads):.1f} ms, "
        f"max {max(loads):.1f} ms over 5 loads ({kb.counts()['concepts']} concepts, "
        f"{kb.counts()['questions']} questions)"
    )
    queries = bundled_queries()
    for q in queries:  # warm-up
        index.lookup(q)
    times, _ = timed(index.lookup, queries * 5)
    line("virtsec lookup (bundled)", times)
    accuracy_by_kind(index)

    print("\nGenerated knowledge base: 10,000 concepts x 5 aliases")
    t0 = time.perf_counter()
    concepts = generate(10_000, 5)
    gen_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    big = ConceptIndex(concepts)
    build_ms = (time.perf_counter() - t0) * 1000
    print(f"  generated in {gen_ms:.0f} ms; index built in {build_ms:.0f} ms")
    pairs = generated_queries(concepts, args.queries)
    qs = [q for q, _ in pairs]
    names: list[str] = []
    owner: list[str] = []
    for c in concepts:
        for n in (c.title, *c.aliases):
            names.append(n)
            owner.append(c.id)
    processed = [utils.default_process(n) for n in names]

    def ours(q: str) -> str | None:
        r = big.lookup(q)
        return r.answer.concept.id if r.answer else None

    def naive(q: str) -> str | None:
        hit = process.extractOne(
            utils.default_process(q), processed, scorer=fuzz.WRatio, processor=None
        )
        return owner[hit[2]] if hit else None

    def diff(q: str) -> str | None:
        hit = difflib.get_close_matches(q.lower(), processed, n=1, cutoff=0.6)
        return owner[processed.index(hit[0])] if hit else None

    rows = []
    for label, fn, share in (
        ("virtsec ConceptIndex.lookup", ours, 1.0),
        ("naive extractOne(WRatio)", naive, 1.0),
        ("difflib.get_close_matches", diff, 0.1),
    ):
        subset = pairs[: max(10, int(len(pairs) * share))]
        times, results = timed(fn, [q for q, _ in subset])
        acc = sum(r == want for r, (_, want) in zip(results, subset, strict=True)) / len(subset)
        rows.append((label, times, acc))
        line(label, times, f"   top-1 accuracy {acc:.1%}")
    ours_p99 = percentile(rows[0][1], 99)
    print(
        f"\n  speed-up at p99 vs naive extractOne: {percentile(rows[1][1], 99) / ours_p99:.1f}x;"
        f" vs difflib: {percentile(rows[2][1], 99) / ours_p99:.1f}x"
    )
    print(
        f"  speed-up at p50 vs naive extractOne: "
        f"{percentile(rows[1][1], 50) / percentile(rows[0][1], 50):.1f}x"
    )
    del qs


if __name__ == "__main__":
    main()
