"""Block Kit for the daily question: the post, its reveal, answer replies, boards, stats and
the weekly report."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.daily.channel import Announcement, PostView, Reveal
from bot.daily.weekly import WeeklyReportView
from bot.knowledge_base import LETTERS
from bot.results import DailyAnswerResult, LeaderboardResult, Notice, StatsResult
from bot.scoring import ClickStatus
from handlers.actions import DAILY_ANSWER, numbered
from handlers.blocks.common import (
    Rendered,
    bar,
    button,
    choice_lines,
    concept_buttons,
    context,
    escape,
    finish,
    header,
    quoted,
    section,
    sources,
)
from handlers.blocks.study import render_notice

MAX_NAMED = 30  # people named in a reveal; the rest are counted


def _distribution(reveal: Reveal) -> str:
    q = reveal.post.question
    lines = []
    for i, choice in enumerate(q.choices):
        n = reveal.counts.get(i, 0)
        share = n / reveal.total if reveal.total else 0.0
        mark = " :white_check_mark:" if i == q.answer_index else ""
        lines.append(f"`{LETTERS[i]}` {bar(share)} {share:.0%} ({n}) {escape(choice)}{mark}")
    return "\n".join(lines)


def render_daily_question(view: PostView, reveal: Reveal | None = None) -> Rendered:
    """The channel post: the question with answer buttons, or its result once closed."""
    q = view.question
    lines = choice_lines(q)
    blocks: list[Block] = [
        header("Daily practice question"),
        section(f"*{escape(q.prompt)}*\n{lines}"),
    ]
    if view.closed:
        right = q.answer_label
        blocks.append(section(f"*Closed.* The answer: *{escape(right)}*"))
        if reveal is not None:
            blocks.append(section(_distribution(reveal)))
            blocks.append(
                context(
                    f"{reveal.total} answered · {len(reveal.correct_users)} "
                    "right · explanation in the thread"
                )
            )
        return finish(f"Daily question (closed): {q.prompt} Answer: {right}", blocks)
    blocks.append(
        ActionsBlock(
            elements=[
                button(q.label(i), numbered(DAILY_ANSWER, i), f"{view.post_id}:{i}")
                for i, c in enumerate(q.choices)
            ]
        )
    )
    answered = "1 answer" if view.answer_count == 1 else f"{view.answer_count} answers"
    blocks.append(
        context(
            f"{answered} so far · your first click counts · only you see "
            f"your result · {q.difficulty}"
        )
    )
    return finish(f"Daily practice question: {q.prompt}", blocks)


def render_reveal(reveal: Reveal, names: Mapping[str, str]) -> Rendered:
    """The thread reply at close: answer, explanation, shares, and who got it right, by name
    (a mention would notify each of them)."""
    q = reveal.post.question
    right = q.answer_label
    named = [escape(names[u]) for u in reveal.correct_users[:MAX_NAMED] if u in names]
    more = len(reveal.correct_users) - len(named)
    if named:
        who = ", ".join(named) + (f" and {more} more" if more > 0 else "")
    elif reveal.correct_users:
        n = len(reveal.correct_users)
        who = "1 person" if n == 1 else f"{n} people"
    else:
        who = "nobody this time"
    blocks: list[Block] = [
        section(f":white_check_mark: *The answer: {escape(right)}*"),
        section(escape(q.explanation)),
        section(_distribution(reveal)),
        section(f"*Got it right ({len(reveal.correct_users)} of {reveal.total}):* {who}"),
        sources(q.sources),
    ]
    return finish(f"The answer: {right}. {q.explanation}", blocks)


def render_announcement(announcement: Announcement) -> Rendered:
    """The channel is told its new schedule (and so the bot knows it can post there)."""
    a = announcement
    closing = f", closing at {a.close_time}" if a.close_time else ", open until the next one"
    schedule = f"{a.post_time} {a.timezone}, {a.days.described}{closing}"
    text = (
        f":calendar: <@{escape(a.user_id)}> turned on the daily practice question here: "
        f"{escape(schedule)}. The first one comes {a.first_post:%a %d %b %H:%M %Z}."
    )
    blocks: list[Block] = [
        section(text),
        context(
            "Answer with the buttons: your first click counts, only you see your result, "
            "and the answer is revealed when the question closes. `/virtsec leaderboard` "
            "shows the board."
        ),
    ]
    return finish(f"Daily practice question on: {schedule}", blocks)


def render_answer_outcome(outcome: DailyAnswerResult) -> Rendered:
    """The private reply to a click on a daily question."""
    # a click burst renders the same few replies again and again: build each once
    text, blocks = _answer_outcome_blocks(outcome)
    return text, list(blocks)


@lru_cache(maxsize=512)
def _answer_outcome_blocks(outcome: DailyAnswerResult) -> Rendered:
    q = outcome.question
    if outcome.status == ClickStatus.INVALID or q is None:
        return render_notice(
            Notice(
                "That question is no longer available. Watch for the next daily question!",
                error=True,
            )
        )
    right = q.answer_label
    chosen = f"{LETTERS[outcome.chosen]}" if outcome.chosen >= 0 else ""
    buttons = concept_buttons(outcome.concepts, limit=3)
    if outcome.status == ClickStatus.ALREADY:
        text = f"You already answered {chosen}. Your first answer is the one that counts."
        return finish(text, [section(text)])
    if outcome.status == ClickStatus.CLOSED:
        text = f"This question is closed. The answer was {right}."
        blocks: list[Block] = [section(escape(text)), section(escape(q.explanation))]
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
        return finish(text, blocks)
    verdict = (
        f":white_check_mark: *Correct!* {escape(right)} — one point."
        if outcome.correct
        else f":x: *Not this time.* You chose {chosen}; the answer is *{escape(right)}*."
    )
    blocks = [section(verdict), section(escape(q.explanation)), sources(q.sources)]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    text = (
        "Correct! " if outcome.correct else f"Not this time: the answer is {right}. "
    ) + q.explanation
    return finish(text, blocks)


MEDALS = {1: ":first_place_medal:", 2: ":second_place_medal:", 3: ":third_place_medal:"}


def render_leaderboard(result: LeaderboardResult) -> Rendered:
    """Top 10 (ties share a rank) and the caller's own rank."""
    title = f"Leaderboard — {result.period.described}"
    if result.start:
        title += f" (since {result.start})"
    if not result.rows:
        text = f"{title}: no points yet. Answer the daily question to get on the board!"
        return finish(text, [header(title), section(escape(text.split(": ", 1)[1]))])
    lines = [
        f"{MEDALS.get(r.rank, f'{r.rank}.')} <@{escape(r.user_id)}> — {r.points} "
        f"{'point' if r.points == 1 else 'points'}"
        for r in result.rows
    ]
    blocks: list[Block] = [header(title), section("\n".join(lines))]
    in_top = any(r.user_id == result.caller_id for r in result.rows)
    if result.caller is not None and not in_top:
        blocks.append(
            context(
                f"You: #{result.caller.rank} with {result.caller.points} "
                f"{'point' if result.caller.points == 1 else 'points'}"
            )
        )
    elif result.caller is None:
        blocks.append(context("You have no points here yet."))
    return finish(
        f"{title}: " + "; ".join(f"{r.rank}. {r.user_id} {r.points}" for r in result.rows), blocks
    )


def render_stats(result: StatsResult) -> Rendered:
    """A person's record."""
    daily_line = (
        f"*Daily questions here:* {result.answered} answered, {result.correct} right "
        f"({result.accuracy:.0%}), {result.points} points"
    )
    streaks = (
        f"*Streak:* {result.current_streak} now, best {result.best_streak} "
        "(daily questions in a row answered correctly)"
    )
    practice = (
        f"*Practice:* {result.practice_answered} answered, {result.practice_correct} "
        "right (practice never counts on the leaderboard)"
    )
    blocks: list[Block] = [
        header("Your stats"),
        section(daily_line),
        section(streaks),
        section(practice),
    ]
    if result.mastery or result.due:
        bars = "\n".join(
            f"`{bar(m.level)}` {m.level:4.0%}  {escape(m.concept.title)}"
            for m in result.mastery[:12]
        )
        more = f"\n…and {len(result.mastery) - 12} more" if len(result.mastery) > 12 else ""
        blocks.append(
            section(
                f"*Due for review: {result.due}* (`/virtsec quiz`)\n"
                f"*Mastery per concept* (practice memory):\n{bars}{more}"[:3000]
            )
        )
    if result.weakest:
        weak = "\n".join(
            f"• {escape(c.title)}: {right}/{n} right" for c, right, n in result.weakest
        )
        blocks += [
            section(f"*Weakest concepts:*\n{weak}"),
            ActionsBlock(elements=concept_buttons(c for c, _r, _n in result.weakest)),
        ]
    return finish(
        f"Your stats: {result.answered} answered, {result.correct} right, "
        f"streak {result.current_streak} (best {result.best_streak})",
        blocks,
    )


def render_weekly_report(report: WeeklyReportView) -> Rendered:
    """The Monday post: top scorers, most improved, what the team missed, the hardest one."""
    title = f"Weekly report — week of {report.week_start:%d %b %Y}"
    blocks: list[Block] = [header(title)]
    if report.top:
        blocks.append(
            section(
                "*Top scorers*\n"
                + "\n".join(
                    f"{MEDALS.get(r.rank, f'{r.rank}.')} <@{escape(r.user_id)}> — {r.points}"
                    for r in report.top
                )
            )
        )
    if report.improved:
        blocks.append(
            section(
                "*Most improved*\n"
                + "\n".join(
                    f":chart_with_upwards_trend: <@{escape(u)}> +{gain}"
                    for u, gain in report.improved
                )
            )
        )
    if report.missed:
        blocks.append(
            section(
                "*What the team missed most*\n"
                + "\n".join(
                    f"• {escape(c.title)}: {wrong} of {n} answers wrong"
                    for c, wrong, n in report.missed
                )
            )
        )
        blocks.append(ActionsBlock(elements=concept_buttons(c for c, _w, _n in report.missed)))
    if report.hardest is not None:
        q, right, n = report.hardest
        answer = q.answer_label
        blocks.append(
            section(
                f"*Hardest question* ({right} of {n} right)\n{escape(q.prompt)}"
                f"\n*Answer:* {escape(answer)}"
            )
        )
    if report.unanswered:
        asked = "\n".join(f"{g.times}× {quoted(g.query)}" for g in report.unanswered)
        blocks.append(
            section(
                "*Questions I could not answer this week*\n"
                + asked
                + "\n_Admins can teach me: `/virtsec teach <words> = <concept-id>`._"
            )
        )
    blocks.append(
        context(
            f"{report.participants} people answered {report.answers} times "
            f"across {report.questions} questions · `/virtsec weekly off` to "
            "stop these reports"
        )
    )
    return finish(f"{title}: {report.participants} people, {report.answers} answers", blocks)
