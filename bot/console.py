"""The terminal channel: renders core results as plain text and runs a prompt loop."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.knowledge_base import Concept, KnowledgeBase
from bot.lookup import ConceptIndex, LookupResult, Match

WIDTH = 78


def _wrap(text: str, indent: str = "  ") -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    return "\n".join(
        textwrap.fill(" ".join(p.split()), WIDTH, initial_indent=indent, subsequent_indent=indent)
        for p in paragraphs
    )


def render_concept(concept: Concept, kb: KnowledgeBase, *, details: bool = True) -> str:
    """A concept as a person reads it: title, summary, exam tip, related, sources."""
    lines = [concept.title, "=" * min(len(concept.title), WIDTH), _wrap(concept.summary, "")]
    if details and concept.details:
        lines += ["", _wrap(concept.details, "")]
    if concept.exam_tip:
        lines += ["", "Exam tip:", _wrap(concept.exam_tip)]
    related = [kb.concepts[r].title for r in concept.related if r in kb.concepts]
    if related:
        lines += ["", "Related: " + ", ".join(related)]
    lines += ["", "Sources:"] + [f"  - {s}" for s in concept.sources]
    return "\n".join(lines)


def _suggestion_line(matches: Iterable[Match]) -> str:
    return "\n".join(f"  - {m.concept.title}  (try: {m.concept.id})" for m in matches)


def render_lookup(result: LookupResult, kb: KnowledgeBase) -> str:
    """A lookup result as text; an honest 'no good match' when there is no answer."""
    if result.answer is None:
        shown = " ".join(result.query.split())[:80] or "(empty)"
        text = f"No good match for \"{shown}\" in the virtualization-security notes."
        if result.suggestions:
            text += "\nDid you mean:\n" + _suggestion_line(result.suggestions)
        else:
            text += ('\nTry a concept name such as "VM escape", "type 1 hypervisor" '
                     'or "k8s RBAC".')
        return text
    parts = []
    if result.compared and result.answer.concept.compares:
        parts.append(render_concept(result.answer.concept, kb))
    elif result.compared:
        parts.append("Comparing " + " and ".join(m.concept.title for m in result.compared) + ":")
        parts.extend(render_concept(m.concept, kb, details=False) for m in result.compared)
    else:
        parts.append(render_concept(result.answer.concept, kb))
    if result.suggestions:
        parts.append("See also:\n" + _suggestion_line(result.suggestions))
    return "\n\n".join(parts)


def run_lookup_prompt(kb: KnowledgeBase, index: ConceptIndex, stdin: TextIO, stdout: TextIO,
                      prompt: str = "virtsec> ", interactive: bool = True) -> int:
    """Read questions line by line and answer each until EOF or 'quit'."""
    write: Callable[[str], object] = stdout.write
    counts = kb.counts()
    write(f"virtsec: {counts['concepts']} concepts, {counts['questions']} practice questions.\n"
          "Ask about a concept (e.g. \"what is VM escape\"); 'quit' or Ctrl-D to leave.\n")
    while True:
        if interactive:
            write(prompt)
            stdout.flush()
        line = stdin.readline()
        if not line:
            write("\n" if interactive else "")
            return 0
        text = line.strip()
        if text.lower() in ("quit", "exit", ":q"):
            return 0
        if not text:
            continue
        write(render_lookup(index.lookup(text), kb) + "\n\n")
