"""The query set: what people type must find the right concept, or honestly nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.lookup import ConceptIndex

QUERIES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "data" / "lookup_queries.yaml").read_text()
)["queries"]
IN_SCOPE = [q for q in QUERIES if q["expect"] is not None]
OUT_OF_SCOPE = [q for q in QUERIES if q["expect"] is None]


def test_the_query_set_is_large_and_varied() -> None:
    kinds = Counter(q["kind"] for q in QUERIES)
    assert len(QUERIES) >= 150
    assert set(kinds) == {
        "direct",
        "paraphrase",
        "typo",
        "abbreviation",
        "comparison",
        "out-of-scope",
    }
    assert min(kinds.values()) >= 10


def test_every_expected_id_exists(index: ConceptIndex) -> None:
    ids = {c.id for c in index.concepts}
    missing = sorted({q["expect"] for q in IN_SCOPE} - ids)
    assert not missing


def test_top1_accuracy_in_scope_is_at_least_95_percent(index: ConceptIndex) -> None:
    wrong = []
    for item in IN_SCOPE:
        result = index.lookup(item["q"])
        got = result.answer.concept.id if result.answer else None
        if got != item["expect"]:
            wrong.append(f"{item['kind']}: {item['q']!r} -> {got} (want {item['expect']})")
    accuracy = 1 - len(wrong) / len(IN_SCOPE)
    assert accuracy >= 0.97, f"accuracy {accuracy:.1%}; misses:\n" + "\n".join(wrong)


def test_comparisons_answer_both_sides(index: ConceptIndex) -> None:
    for item in (q for q in IN_SCOPE if q.get("compared")):
        result = index.lookup(item["q"])
        assert [m.concept.id for m in result.compared] == item["compared"], item["q"]


def test_out_of_scope_is_rejected_at_least_90_percent(index: ConceptIndex) -> None:
    answered = []
    for item in OUT_OF_SCOPE:
        result = index.lookup(item["q"])
        if result.answer is not None:
            answered.append(f"{item['q']!r} -> {result.answer.concept.id} ({result.answer.score})")
    rejected = 1 - len(answered) / len(OUT_OF_SCOPE)
    assert rejected >= 0.96, f"rejected {rejected:.1%}; answered:\n" + "\n".join(answered)


HOLDOUT_FILES = ["lookup_queries_holdout.yaml", "lookup_queries_holdout2.yaml"]


def test_held_out_query_sets_do_not_regress(index: ConceptIndex) -> None:
    # Written by people who saw neither aliases nor lookup code; long chatty paraphrases
    # are the hard part. With the full-text stage: 95% and 91% in scope, paraphrases
    # 91% and 80% (77% and 73% with names and summaries alone), 90% and 100% rejected.
    for name in HOLDOUT_FILES:
        queries = yaml.safe_load(
            (Path(__file__).resolve().parent.parent / "data" / name).read_text()
        )["queries"]
        scoped = [q for q in queries if q["expect"]]
        right = [q for q in scoped if answer_of(index, q["q"]) == q["expect"]]
        paraphrases = [q for q in scoped if q["kind"] == "paraphrase"]
        paraphrased = [q for q in right if q["kind"] == "paraphrase"]
        others = [q for q in queries if not q["expect"]]
        rejected = sum(1 for q in others if index.lookup(q["q"]).answer is None)
        assert len(right) / len(scoped) >= 0.90, name
        assert len(paraphrased) / len(paraphrases) >= 0.78, name
        assert rejected / len(others) >= 0.90, name


def answer_of(index: ConceptIndex, query: str) -> str | None:
    result = index.lookup(query)
    return result.answer.concept.id if result.answer else None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # products and components the notes discuss find the concept that explains them
        ("kvm", "privileged-hypervisor-components"),
        ("qemu", "privileged-hypervisor-components"),
        ("svirt", "privileged-hypervisor-components"),
        ("what is dom0", "privileged-hypervisor-components"),
        ("cis benchmark for k8s", "orchestration"),
        ("gvisor", "sandboxed-container-runtimes"),
        # ... and a CVE only when the query names it
        ("venom qemu", "venom-cve-2015-3456"),
        ("qemu floppy controller bug", "venom-cve-2015-3456"),
        ("CVE-2015-3456", "venom-cve-2015-3456"),
    ],
)
def test_names_the_notes_discuss_find_their_concept(
    index: ConceptIndex, query: str, expected: str
) -> None:
    assert answer_of(index, query) == expected


def test_the_same_idea_in_other_words_finds_the_same_concept(index: ConceptIndex) -> None:
    assert answer_of(index, "container breakout") == answer_of(index, "container escape")
    assert answer_of(index, "container escape") == "container-security"


@pytest.mark.parametrize(
    "query",
    [
        "what is an API",
        "what is a buffer",
        "how does TLS work",
        "define memory",
        "tell me about cpu",
    ],
)
def test_common_words_the_notes_use_do_not_make_an_answer(index: ConceptIndex, query: str) -> None:
    # the notes use these words, yet no concept is about them
    assert index.lookup(query).answer is None
