"""The console's renderer: every core result as plain text for a terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import assert_never

from bot.daily.channel import PostView, Reveal
from bot.knowledge_base import LETTERS, Concept, Question
from bot.lookup import Match
from bot.results import (
    ConceptCard,
    DailyAnswerResult,
    GapsResult,
    HelpResult,
    LeaderboardResult,
    LookupReply,
    Notice,
    Picked,
    PracticeOutcome,
    PracticeQuestion,
    Reply,
    ScenarioResult,
    StatsResult,
    TipResult,
    TopicList,
)
from bot.scoring import ClickStatus

WIDTH = 78


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


def render_answer(answer: LookupReply) -> str:
    """A lookup answer; an honest 'no good match' with suggestions when there is none."""
    result = answer.lookup
    if answer.card is None:
        shown = (
            " ".join("".join(ch if ch.isprintable() else " " for ch in result.query).split())[:80]
            or "(empty)"
        )
        text = f'No good match for "{shown}" in the virtualization-security notes.'
        if result.suggestions:
            numbered = [f"  {n}. {m.concept.title}" for n, m in enumerate(result.suggestions, 1)]
            return "\n".join(
                [text, "Did you mean (type its number):", *numbered, "  0. None of these"]
            )
        return text + (
            '\nTry a concept name such as "VM escape", "type 1 hypervisor" '
            'or "k8s RBAC", or /virtsec topics.'
        )
    if answer.compared:
        parts = ["Comparing " + " and ".join(c.concept.title for c in answer.compared) + ":"]
        parts += [render_card(c, details=False) for c in answer.compared]
    else:
        parts = [render_card(answer.card)]
    if answer.learned:
        parts.append("(Your team taught me this answer.)")
    if result.suggestions:
        parts.append("See also:\n" + _suggestions(result.suggestions))
    return "\n\n".join(parts)


def render_question(result: PracticeQuestion) -> str:
    """A practice question, answered by typing a letter."""
    q = result.question
    lines = [f"Practice question ({q.difficulty}, not scored)", _wrap(q.prompt), ""]
    lines += _choices(q)
    lines += ["", f"Answer with a letter (A-{LETTERS[len(q.choices) - 1]})."]
    return "\n".join(lines)


def render_outcome(result: PracticeOutcome) -> str:
    """Right or wrong, with the explanation."""
    q = result.question
    right = q.answer_label
    head = (
        f"Correct: {right}"
        if result.correct
        else f"Not quite. You chose {LETTERS[result.chosen]}; the answer is {right}."
    )
    lines = [head, "", _wrap(q.explanation), "", "Sources: " + "; ".join(q.sources)]
    if result.concepts:
        lines.append("Study: " + _titles(result.concepts))
    lines.append("Type /virtsec quiz for another question.")
    return "\n".join(lines)


def _choices(q: Question) -> list[str]:
    return [f"  {q.label(i)}" for i in range(len(q.choices))]


def render_daily(view: PostView) -> str:
    """A daily question as posted in the console channel."""
    q = view.question
    return "\n".join(
        [
            f"*** Daily practice question ({q.difficulty}) ***",
            _wrap(q.prompt),
            "",
            *_choices(q),
            "",
            "Answer with a letter; your first answer counts.",
        ]
    )


def render_reveal(reveal: Reveal) -> str:
    """The answer at close, with how people did."""
    q = reveal.post.question
    lines = [
        f"*** Closed: the answer is {q.answer_label} ***",
        _wrap(q.explanation),
        "",
    ]
    for i, choice in enumerate(q.choices):
        n = reveal.counts.get(i, 0)
        share = n / reveal.total if reveal.total else 0.0
        lines.append(f"  {LETTERS[i]}. {share:4.0%} ({n})  {choice}")
    lines.append(f"Right: {', '.join(reveal.correct_users) or 'nobody'}")
    return "\n".join(lines)


def render_daily_outcome(outcome: DailyAnswerResult) -> str:
    """The private reply to a daily answer."""
    q = outcome.question
    if outcome.status == ClickStatus.INVALID or q is None:
        return "That question is no longer available."
    right = q.answer_label
    if outcome.status == ClickStatus.ALREADY:
        return (
            f"You already answered {LETTERS[outcome.chosen]}. Your first answer is the one "
            "that counts."
        )
    if outcome.status == ClickStatus.CLOSED:
        return f"This question is closed. The answer was {right}."
    head = (
        f"Correct: {right} (one point)."
        if outcome.correct
        else f"Not this time. You chose {LETTERS[outcome.chosen]}; the answer is {right}."
    )
    return head + "\n\n" + _wrap(q.explanation)


def render_leaderboard(result: LeaderboardResult) -> str:
    """Top 10 and your rank."""
    title = f"Leaderboard, {result.period.described}" + (
        f" (since {result.start})" if result.start else ""
    )
    if not result.rows:
        return title + ": no points yet."
    lines = [title] + [f"  {r.rank:>3}. {r.user_id:<20} {r.points}" for r in result.rows]
    if result.caller and all(r.user_id != result.caller_id for r in result.rows):
        lines.append(f"  You: #{result.caller.rank} with {result.caller.points}")
    return "\n".join(lines)


def render_stats(result: StatsResult) -> str:
    """Your record."""
    lines = [
        f"Daily: {result.answered} answered, {result.correct} right "
        f"({result.accuracy:.0%}), {result.points} points",
        f"Streak: {result.current_streak} now, best {result.best_streak}",
        f"Practice: {result.practice_answered} answered, {result.practice_correct} right "
        "(never on the leaderboard)",
    ]
    if result.weakest:
        lines.append(
            "Weakest: " + ", ".join(f"{c.title} ({right}/{n})" for c, right, n in result.weakest)
        )
    lines.append(f"Due for review: {result.due}")
    for memory in result.mastery[:12]:
        filled = round(memory.level * 10)
        bar = f"{'#' * filled}{'.' * (10 - filled)}"
        lines.append(f"  {bar} {memory.level:4.0%}  {memory.concept.title}")
    return "\n".join(lines)


def render_topics(result: TopicList) -> str:
    """Concepts by tag."""
    return "\n".join(f"{g.tag} ({len(g.concepts)}): {_titles(g.concepts)}" for g in result.groups)


def render_tip(result: TipResult) -> str:
    """An exam tip with its sources."""
    return f"Exam tip: {_wrap(result.tip.text)}\nSources: {'; '.join(result.tip.sources)}"


def render_scenario(result: ScenarioResult) -> str:
    """A worked case, step by step."""
    s = result.scenario
    steps = "\n".join(
        _wrap(f"{i}. {step}", "  ").lstrip() for i, step in enumerate(s.walkthrough, 1)
    )
    return f"{s.title}\n{'=' * min(len(s.title), WIDTH)}\n{_wrap(s.situation)}\n\n{steps}"


def render_picked(result: Picked) -> str:
    """The picked concept, and whether the query now answers it for the team."""
    note = (
        f'Thanks: "{result.query}" now answers {result.card.concept.title} directly for your team.'
        if result.learned
        else "Thanks, noted. When someone else picks the same, your team gets it directly."
    )
    return render_card(result.card) + "\n\n" + note


def render_gaps(result: GapsResult) -> str:
    """What the bot could not answer, most asked first."""
    lines = [f"Questions I could not answer in the last {result.days} days:"]
    lines += [f"  {g.times}x  {g.query}" for g in result.unanswered] or ["  (none)"]
    lines.append('"None of these" to my suggestions:')
    lines += [f"  {g.times}x  {g.query}" for g in result.refused] or ["  (none)"]
    lines.append(
        f"Taught queries: {result.taught}. Teach one with /virtsec teach <words> = "
        "<concept-id>; undo with /virtsec forget <words>."
    )
    return "\n".join(lines)


def render(reply: Reply) -> str:
    """Render any core result as text (mypy checks that every kind is handled)."""
    match reply:
        case LeaderboardResult():
            return render_leaderboard(reply)
        case StatsResult():
            return render_stats(reply)
        case DailyAnswerResult():
            return render_daily_outcome(reply)
        case LookupReply():
            return render_answer(reply)
        case ConceptCard():
            return render_card(reply)
        case HelpResult():
            return reply.usage
        case TopicList():
            return render_topics(reply)
        case TipResult():
            return render_tip(reply)
        case ScenarioResult():
            return render_scenario(reply)
        case PracticeQuestion():
            return render_question(reply)
        case PracticeOutcome():
            return render_outcome(reply)
        case Notice():
            return ("Error: " if reply.error else "") + reply.text
        case Picked():
            return render_picked(reply)
        case GapsResult():
            return render_gaps(reply)
        case _:
            assert_never(reply)
