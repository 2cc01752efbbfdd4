"""The terminal channel: the same core as Slack, rendered as plain text.

Type `/virtsec what is VM escape` (or just the question), `/virtsec quiz` and
answer with a letter, `/virtsec topics`, `/virtsec help`; `quit` or Ctrl-D
leaves.
"""

from __future__ import annotations

import getpass
import textwrap
from collections.abc import Iterable
from typing import TextIO

from bot.commands import CommandError, parse
from bot.knowledge_base import Concept
from bot.lookup import Match
from bot.services import (
    Answer,
    Caller,
    ConceptCard,
    HelpResult,
    Notice,
    PracticeOutcome,
    PracticeQuestion,
    Response,
    ScenarioResult,
    Study,
    TipResult,
    TopicList,
)

WIDTH = 78
LETTERS = "ABCDE"


def _wrap(text: str, indent: str = "") -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    return "\n".join(
        textwrap.fill(" ".join(p.split()), WIDTH, initial_indent=indent, subsequent_indent=indent)
        for p in paragraphs
    )


def _titles(concepts: Iterable[Concept]) -> str:
    return ", ".join(c.title for c in concepts)


def render_card(card: ConceptCard, *, details: bool = True) -> str:
    """A concept as a person reads it: title, summary, details, exam tip, related, sources."""
    c = card.concept
    lines = [c.title, "=" * min(len(c.title), WIDTH), _wrap(c.summary)]
    if details and c.details:
        lines += ["", _wrap(c.details)]
    if c.exam_tip:
        lines += ["", "Exam tip:", _wrap(c.exam_tip, "  ")]
    if card.related:
        lines += ["", "Related: " + _titles(card.related)]
    lines += ["", "Sources:"] + [f"  - {s}" for s in c.sources]
    return "\n".join(lines)


def _suggestions(matches: Iterable[Match]) -> str:
    return "\n".join(f"  - {m.concept.title}  (try: {m.concept.id})" for m in matches)


def render_answer(answer: Answer) -> str:
    """A lookup answer; an honest 'no good match' with suggestions when there is none."""
    result = answer.lookup
    if answer.card is None:
        shown = " ".join("".join(ch if ch.isprintable() else " " for ch in result.query)
                         .split())[:80] or "(empty)"
        text = f"No good match for \"{shown}\" in the virtualization-security notes."
        if result.suggestions:
            return text + "\nDid you mean:\n" + _suggestions(result.suggestions)
        return text + ('\nTry a concept name such as "VM escape", "type 1 hypervisor" '
                       'or "k8s RBAC", or /virtsec topics.')
    if answer.compared:
        parts = ["Comparing " + " and ".join(c.concept.title for c in answer.compared) + ":"]
        parts += [render_card(c, details=False) for c in answer.compared]
    else:
        parts = [render_card(answer.card)]
    if result.suggestions:
        parts.append("See also:\n" + _suggestions(result.suggestions))
    return "\n\n".join(parts)


def render_question(result: PracticeQuestion) -> str:
    """A practice question, answered by typing a letter."""
    q = result.question
    lines = [f"Practice question ({q.difficulty}, not scored)", _wrap(q.prompt), ""]
    lines += [f"  {LETTERS[i]}. {choice}" for i, choice in enumerate(q.choices)]
    lines += ["", f"Answer with a letter (A-{LETTERS[len(q.choices) - 1]})."]
    return "\n".join(lines)


def render_outcome(result: PracticeOutcome) -> str:
    """Right or wrong, with the explanation."""
    q = result.question
    right = f"{LETTERS[q.answer_index]}. {q.answer}"
    head = (f"Correct: {right}" if result.correct else
            f"Not quite. You chose {LETTERS[result.chosen]}; the answer is {right}.")
    lines = [head, "", _wrap(q.explanation), "", "Sources: " + "; ".join(q.sources)]
    if result.concepts:
        lines.append("Study: " + _titles(result.concepts))
    lines.append("Type /virtsec quiz for another question.")
    return "\n".join(lines)


def render(response: Response | PracticeOutcome) -> str:
    """Render any core result as text."""
    if isinstance(response, Answer):
        return render_answer(response)
    if isinstance(response, ConceptCard):
        return render_card(response)
    if isinstance(response, HelpResult):
        return response.usage
    if isinstance(response, TopicList):
        return "\n".join(f"{tag} ({len(cs)}): {_titles(cs)}" for tag, cs in response.groups)
    if isinstance(response, TipResult):
        return "Exam tip: " + _wrap(response.tip.text) + "\nSources: " + \
            "; ".join(response.tip.sources)
    if isinstance(response, ScenarioResult):
        s = response.scenario
        steps = "\n".join(_wrap(f"{i}. {step}", "  ").lstrip()
                          for i, step in enumerate(s.walkthrough, 1))
        return f"{s.title}\n{'=' * min(len(s.title), WIDTH)}\n{_wrap(s.situation)}\n\n{steps}"
    if isinstance(response, PracticeQuestion):
        return render_question(response)
    if isinstance(response, PracticeOutcome):
        return render_outcome(response)
    return ("Error: " if response.error else "") + response.text


class ConsoleSession:
    """One person's terminal conversation with the bot."""

    def __init__(self, study: Study, user: str | None = None):
        self.study = study
        user = user or getpass.getuser()
        self.caller = Caller("console", user, "console", is_admin=True)
        self.pending: PracticeQuestion | None = None

    def handle(self, line: str) -> str:
        """The reply to one line of input."""
        text = line.strip()
        pending = self.pending
        if pending and len(text) == 1 and text.upper() in LETTERS[: len(pending.question.choices)]:
            self.pending = None
            return render(self.study.grade_practice(pending.question.id,
                                                    LETTERS.index(text.upper())))
        if text.lower().startswith("/virtsec"):
            text = text[len("/virtsec"):]
        try:
            command = parse(text)
        except CommandError as exc:
            return render(Notice(str(exc), error=True))
        response = self.study.execute(command, self.caller)
        self.pending = response if isinstance(response, PracticeQuestion) else None
        return render(response)


def run_console(study: Study, stdin: TextIO, stdout: TextIO, interactive: bool = True) -> int:
    """Read lines until EOF or 'quit', answering each."""
    session = ConsoleSession(study)
    counts = study.kb.counts()
    stdout.write(f"virtsec console: {counts['concepts']} concepts, {counts['questions']} "
                 "practice questions. No Slack needed.\n"
                 "Try /virtsec what is VM escape, /virtsec quiz, /virtsec help; "
                 "'quit' or Ctrl-D to leave.\n")
    while True:
        if interactive:
            stdout.write("virtsec> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            if interactive:
                stdout.write("\n")
            return 0
        if line.strip().lower() in ("quit", "exit", ":q"):
            return 0
        if not line.strip():
            continue
        stdout.write(session.handle(line) + "\n\n")
