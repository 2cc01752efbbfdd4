"""The bundled knowledge base: valid, complete for the seed note, and free of known myths."""

from __future__ import annotations

import re
from collections import Counter

from bot import knowledge_base
from bot.knowledge_base import KnowledgeBase

SEED_IDS = [
    "hypervisor",
    "type-1-hypervisor",
    "type-2-hypervisor",
    "vm-escape",
    "vm-sprawl",
    "resource-contention",
    "vm-isolation",
    "snapshot-management",
    "virtual-network-security",
    "hypervisor-hardening",
    "live-migration-security",
    "sandboxing",
    "thin-client",
    "container-security",
    "orchestration",
    "virtualization",
]
FURTHER_IDS = [
    "venom-cve-2015-3456",
    "cloudburst-cve-2009-1244",
    "hyperjacking",
    "vm-based-rootkit",
    "malicious-vib-backdoor",
    "hypervisor-ransomware",
    "management-plane-compromise",
    "guest-operations-abuse",
    "virtual-device-attack-surface",
    "hypervisor-dos-from-guest",
    "sandbox-evasion",
    "hardware-assisted-virtualization",
    "spectre",
    "meltdown",
    "l1tf-foreshadow",
    "cross-vm-cache-side-channel",
    "memory-deduplication-risk",
    "rowhammer-cross-vm",
    "iommu-dma-protection",
    "device-passthrough-sr-iov",
    "confidential-vms",
    "namespaces-and-cgroups",
    "privileged-containers",
    "seccomp-profiles",
    "docker-socket-exposure",
    "runc-escape-cve-2019-5736",
    "rootless-containers",
    "sandboxed-container-runtimes",
    "container-image-security",
    "pod-security-standards",
    "kubernetes-rbac",
    "kubernetes-network-policies",
    "kubernetes-secrets-encryption",
    "shared-responsibility-model",
    "multi-tenancy",
    "co-residency-placement-attack",
    "instance-metadata-ssrf",
    "data-remnants-resource-reuse",
    "dedicated-hosts",
    "iac-misconfiguration-at-scale",
    "esxi-lockdown-mode",
    "exec-installed-only",
    "host-attestation-tpm",
    "vm-encryption",
    "golden-images",
    "vm-lifecycle-management",
    "virtual-machine-introspection",
    "shielded-vms",
    "non-persistence",
    "vdi",
]


def all_text(kb: KnowledgeBase) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for c in kb.concepts.values():
        out += [(c.id, t) for t in (c.summary, c.details, c.exam_tip)]
    for q in kb.questions.values():
        out += [(q.id, t) for t in (q.prompt, q.explanation, *q.choices)]
    for t in kb.tips.values():
        out.append((t.id, t.text))
    for s in kb.scenarios.values():
        out += [(s.id, x) for x in (s.situation, *s.walkthrough)]
    return out


def test_bundled_knowledge_base_has_no_problems() -> None:
    _kb, problems = knowledge_base.check([knowledge_base.bundled_knowledge_dir()])
    assert problems == []


def test_every_seed_concept_is_there_with_its_exact_id(kb: KnowledgeBase) -> None:
    assert [i for i in SEED_IDS if i not in kb.concepts] == []


def test_the_further_topics_are_covered(kb: KnowledgeBase) -> None:
    assert [i for i in FURTHER_IDS if i not in kb.concepts] == []
    further = [
        c
        for c in kb.concepts
        if c not in SEED_IDS
        and not kb.concepts[c].compares
        and "comparison" not in kb.concepts[c].tags
    ]
    assert len(further) >= 40


def test_seed_extras_are_there(kb: KnowledgeBase) -> None:
    assert "case-virtualization-security" in kb.scenarios
    assert len(kb.scenarios["case-virtualization-security"].walkthrough) >= 5
    assert len(kb.tips) >= 5
    assert "type-1-vs-type-2-hypervisor" in kb.concepts


def test_seed_concepts_have_rich_aliases(kb: KnowledgeBase) -> None:
    thin = [i for i in SEED_IDS if len(kb.concepts[i].aliases) < 5]
    assert thin == []


def test_at_least_80_questions_and_3_per_seed_concept(kb: KnowledgeBase) -> None:
    assert len(kb.questions) >= 80
    first = Counter(q.concepts[0] for q in kb.questions.values())
    assert {i: first[i] for i in SEED_IDS if first[i] < 3} == {}


def test_correct_answer_positions_are_spread_evenly(kb: KnowledgeBase) -> None:
    four = [q for q in kb.questions.values() if len(q.choices) == 4]
    counts = Counter(q.answer_index for q in four)
    for position in range(4):
        share = counts[position] / len(four)
        assert 0.18 <= share <= 0.32, f"position {'ABCD'[position]}: {share:.0%}"


def test_no_all_or_none_of_the_above(kb: KnowledgeBase) -> None:
    bad = [
        q.id
        for q in kb.questions.values()
        for c in q.choices
        if re.search(r"\b(all|none|both) of the (above|these)\b", c, re.I)
    ]
    assert bad == []


def test_every_entry_is_sourced(kb: KnowledgeBase) -> None:
    entries = [
        *kb.concepts.values(),
        *kb.questions.values(),
        *kb.tips.values(),
        *kb.scenarios.values(),
    ]
    assert all(e.sources for e in entries)
    cves = {m for _id, t in all_text(kb) for m in re.findall(r"CVE-\d{4}-\d{4,}", t)}
    assert {"CVE-2015-3456", "CVE-2009-1244", "CVE-2019-5736", "CVE-2017-5754"} <= cves


DEBUNKED = (
    r"\b(not|n't|myth|wrong|false|never|no|neither|nor|believ\w*|misconception"
    r"|mistaken|incorrect)\b|\""
)
MYTHS = [
    (r"\b(cannot|can't|can ?not|never) be escaped\b", "type 1 hypervisors have been escaped"),
    (r"\bimmune to (vm )?escape", "no hypervisor is immune to escape"),
    (r"\bsnapshots? (is|are) (a )?(backup|backups)\b", "snapshots are not backups"),
    (
        r"\bcontainers? (is|are) (just )?as isolated as (vms|virtual machines)",
        "containers share the host kernel",
    ),
    (r"\bprivileged by default\b(?<!not privileged by default)", "--privileged defaults to false"),
]


def test_known_myths_are_not_taught(kb: KnowledgeBase) -> None:
    found = []
    for entry_id, text in all_text(kb):
        for pattern, truth in MYTHS:
            for m in re.finditer(pattern, text, re.I):
                start = max(text.rfind(".", 0, m.start()), text.rfind(";", 0, m.start())) + 1
                end = text.find(".", m.end())
                sentence = text[start : end if end != -1 else len(text)].lower()
                if re.search(DEBUNKED, sentence):
                    continue  # stated as a misconception, not taught
                found.append(f"{entry_id}: {m.group(0)!r} ({truth})")
    assert found == []
