"""The terminal channel: the same core as Slack, rendered as plain text.

Type `/virtsec what is VM escape` (or just the question; when I am not sure, type
the number of a suggestion, or 0 for none of them), `/virtsec quiz` and answer with a
letter, `/virtsec post` for a daily question, `/virtsec help`;
`quit` or Ctrl-D leaves. A letter always answers the question shown last, and
the reply says which one it answered.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal, TextIO

from bot.commands import CommandError, parse
from bot.console_text import render, render_daily, render_reveal
from bot.core import Core
from bot.daily.channel import Announcement, PostView, Reveal
from bot.daily.weekly import WeeklyReportView
from bot.knowledge_base import LETTERS, Question
from bot.results import Caller, LookupReply, Notice, PracticeQuestion

CONSOLE_TEAM = CONSOLE_CHANNEL = "console"
NOTHING_WAITING = (
    "No question is waiting for an answer. Type /virtsec quiz for a practice question, "
    "or /virtsec post for a daily one."
)


class ConsoleChannel:
    """The console's side of the Channel protocol: daily questions printed in the terminal."""

    def __init__(self, out: TextIO):
        self.out = out
        self.last_posted: PostView | None = None

    def post_question(self, view: PostView) -> str:
        """Print the question."""
        self.out.write(render_daily(view) + "\n\n")
        self.last_posted = view
        return f"console-{view.post_id}"

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        """Nothing to redraw in a terminal (the reveal follows)."""

    def post_reveal(self, reveal: Reveal) -> None:
        """Print the answer."""
        self.out.write(render_reveal(reveal) + "\n\n")

    def post_report(self, report: WeeklyReportView) -> str:
        """Print the Monday report."""
        lines = [f"*** Weekly report, week of {report.week_start:%d %b %Y} ***"]
        lines += [f"  {r.rank}. {r.user_id}: {r.points}" for r in report.top]
        lines += [f"  Most improved: {g.user_id} +{g.gain}" for g in report.improved]
        lines += [
            f"  Missed most: {m.concept.title} ({m.wrong}/{m.answers} wrong)" for m in report.missed
        ]
        if report.hardest is not None:
            q, right, n = report.hardest
            lines.append(f"  Hardest: {q.prompt} ({right}/{n} right) Answer: {q.answer}")
        lines += [f"  Not answered: {g.query} ({g.times}x)" for g in report.unanswered]
        lines.append(
            f"  {report.participants} people, {report.answers} answers, "
            f"{report.questions} questions"
        )
        self.out.write("\n".join(lines) + "\n\n")
        return f"console-report-{report.week_start}"

    def announce(self, announcement: Announcement) -> None:
        """Print the new schedule."""
        a = announcement
        closing = f", closing at {a.close_time}" if a.close_time else ""
        self.out.write(
            f"*** Daily question on: {a.post_time} {a.timezone}, {a.days.described}{closing}. "
            f"First: {a.first_post:%a %d %b %H:%M %Z}. ***\n\n"
        )


@dataclass(frozen=True)
class Waiting:
    """The question a typed letter answers."""

    kind: Literal["practice", "daily"]
    question: Question
    post_id: int = 0


class ConsoleSession:
    """One person's terminal conversation with the bot, in the console's own channel."""

    def __init__(
        self, core: Core, channel: ConsoleChannel, user: str | None = None, zone: str = "UTC"
    ):
        self.core = core
        self.channel = channel
        user = user or getpass.getuser()
        self.caller = Caller(CONSOLE_TEAM, user, CONSOLE_CHANNEL, is_admin=True, timezone=zone)
        self.practice: Waiting | None = None
        self.suggested: LookupReply | None = None  # what a typed number picks from

    def handle(self, line: str) -> str:
        """The reply to one line of input (after doing what the schedule says is due)."""
        self.core.scheduler.tick(only=(CONSOLE_TEAM, CONSOLE_CHANNEL))
        text = line.strip()
        if len(text) == 1 and text.isascii() and text.isalpha():
            return self.answer(text.upper())
        if len(text) == 1 and text.isdigit() and self.suggested is not None:
            return self.pick(int(text))
        if text.lower().startswith("/virtsec"):
            text = text[len("/virtsec") :]
        try:
            command = parse(text)
        except CommandError as exc:
            return render(Notice(str(exc), error=True))
        reply = self.core.execute(command, self.caller)
        if isinstance(reply, PracticeQuestion):
            self.practice = Waiting("practice", reply.question)
        if isinstance(reply, LookupReply):
            unsure = reply.card is None and reply.lookup.suggestions
            self.suggested = reply if unsure else None
        return render(reply)

    def pick(self, number: int) -> str:
        """A number typed after "Did you mean": that suggestion, or 0 for none of them."""
        assert self.suggested is not None
        query = self.suggested.lookup.query
        suggestions = self.suggested.lookup.suggestions
        if not 0 <= number <= len(suggestions):
            return f"Type a number from 1 to {len(suggestions)}, or 0 for none of these."
        self.suggested = None
        if number == 0:
            return render(self.core.learning.none_of_these(self.caller, query))
        concept = suggestions[number - 1].concept
        return render(self.core.learning.pick(self.caller, query, concept.id))

    def waiting(self) -> Waiting | None:
        """What a letter answers now: the practice question shown and not yet answered,
        else the channel's open daily question."""
        if self.practice is not None:
            return self.practice
        post_id = self.core.answering.open_post_id(CONSOLE_TEAM, CONSOLE_CHANNEL)
        shown = self.channel.last_posted
        if post_id is None or shown is None or shown.post_id != post_id:
            return None
        return Waiting("daily", shown.question, post_id)

    def answer(self, letter: str) -> str:
        """A letter typed as an answer: to the question it belongs to, or a clear no."""
        waiting = self.waiting()
        if waiting is None:
            return NOTHING_WAITING
        choices = len(waiting.question.choices)
        index = LETTERS.find(letter)
        label = "Practice question" if waiting.kind == "practice" else "Daily question"
        if not 0 <= index < choices:
            return (
                f"{letter} is not one of the choices: answer the {label.lower()} with a letter "
                f"from A to {LETTERS[choices - 1]}."
            )
        if waiting.kind == "practice":
            self.practice = None
            reply = render(self.core.practice.answer(self.caller, waiting.question.id, index))
        else:
            value = f"{waiting.post_id}:{index}"
            reply = render(self.core.answering.answer(CONSOLE_TEAM, self.caller.user_id, value))
        return f"[{label}] {reply}"


def run_console(
    core: Core, channel: ConsoleChannel, stdin: TextIO, stdout: TextIO, interactive: bool = True
) -> int:
    """Read lines until EOF or 'quit', answering each."""
    session = ConsoleSession(core, channel)
    counts = core.kb.counts()
    stdout.write(
        f"virtsec console: {counts['concepts']} concepts, {counts['questions']} "
        "practice questions. No Slack needed.\n"
        "Try /virtsec what is VM escape, /virtsec quiz, /virtsec post (a daily "
        "question), /virtsec leaderboard, /virtsec help; 'quit' or Ctrl-D to "
        "leave.\n"
    )
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
