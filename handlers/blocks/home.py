"""Block Kit for the App Home dashboard."""

from __future__ import annotations

from typing import Any, assert_never

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.knowledge_base import LETTERS
from bot.results import (
    ConceptCard,
    Dashboard,
    Focus,
    Mastery,
    Notice,
    PracticeOutcome,
    PracticeQuestion,
    StatsResult,
)
from handlers.actions import HOME_PRACTICE, OPEN_CONCEPT
from handlers.blocks.common import (
    bar,
    button,
    choice_lines,
    context,
    escape,
    header,
    practice_buttons,
    section,
)
from handlers.blocks.study import card_blocks

HOME_BLOCKS = 100
SECTION_CHARS = 3000  # Slack's limit for a section's text


def _home_practice(focus: Focus) -> list[Block]:
    match focus:
        case PracticeQuestion(question=q):
            return [
                section(f":dart: *Practice:* {escape(q.prompt)}\n{choice_lines(q)}"),
                practice_buttons(q),
                DividerBlock(),
            ]
        case PracticeOutcome(question=q):
            verdict = (
                f":white_check_mark: *Correct:* {escape(q.answer_label)}"
                if focus.correct
                else f":x: You chose {LETTERS[focus.chosen]}. "
                f"*The answer is {escape(q.answer_label)}.*"
            )
            return [
                section(f":dart: *Practice:* {escape(q.prompt)}"),
                section(verdict),
                section(escape(q.explanation)),
                ActionsBlock(
                    elements=[button("Next question", HOME_PRACTICE, "*", style="primary")]
                ),
                DividerBlock(),
            ]
        case ConceptCard():
            return [*card_blocks(focus, share=False), DividerBlock()]
        case Notice():
            return [section(escape(focus.text)), DividerBlock()]
        case None:
            return []
        case _:
            assert_never(focus)


def render_home(dashboard: Dashboard) -> list[dict[str, Any]]:
    """The App Home tab: streaks, accuracy, mastery, weak spots, the board, the next question."""
    blocks: list[Block] = [header("virtsec — your virtualization-security study")]
    blocks += _home_practice(dashboard.focus)
    blocks += _summary(dashboard.stats)
    blocks += _weakest(dashboard.weakest)
    blocks += _mastery(dashboard.stats.mastery)
    blocks.append(DividerBlock())
    blocks += _board_and_schedule(dashboard)
    dicts = [b.to_dict() for b in blocks]
    if len(dicts) > HOME_BLOCKS:
        raise ValueError(f"{len(dicts)} blocks; a Home tab holds {HOME_BLOCKS}")
    return dicts


def _summary(stats: StatsResult) -> list[Block]:
    if stats.answered or stats.practice_answered:
        text = (
            f":fire: *Streak:* {stats.current_streak} (best {stats.best_streak})   "
            f":dart: *Accuracy:* {stats.accuracy:.0%} of {stats.answered} daily answers   "
            f":books: *Practice:* {stats.practice_answered} answered, {stats.due} due"
        )
    else:
        text = (
            "Welcome! Answer the daily question in your study channel, or practise here: "
            "questions you miss come back sooner, the ones you know come back later."
        )
    practice = button("Practice now", HOME_PRACTICE, "*", style="primary")
    return [section(text), ActionsBlock(elements=[practice])]


def _weakest(weakest: tuple[Mastery, ...]) -> list[Block]:
    if not weakest:
        return []
    blocks: list[Block] = [section("*Your weakest concepts*")]
    for concept, level, _missed in weakest:
        line = f"`{bar(level)}` {level:.0%}  {escape(concept.title)}"
        study = button("Study", OPEN_CONCEPT, concept.id)
        practice = button(f"Practice {concept.title}", HOME_PRACTICE, concept.id)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line), accessory=study))
        blocks.append(ActionsBlock(elements=[practice]))
    return blocks


def _mastery(mastery: tuple[Mastery, ...]) -> list[Block]:
    """Every concept practised, as bars: several sections when the list is long, each cut
    between whole lines."""
    lines = [f"`{bar(m.level)}` {m.level:4.0%}  {escape(m.concept.title)}" for m in mastery]
    blocks: list[Block] = []
    chunk = "*Mastery per concept*"
    for line in lines:
        if len(chunk) + 1 + len(line) > SECTION_CHARS:
            blocks.append(section(chunk))
            chunk = line
        else:
            chunk += "\n" + line
    if lines:
        blocks.append(section(chunk))
    return blocks


def _board_and_schedule(dashboard: Dashboard) -> list[Block]:
    blocks: list[Block] = []
    if dashboard.board is not None and dashboard.channel_id:
        rows = "\n".join(
            f"{r.rank}. <@{escape(r.user_id)}> — {r.points}" for r in dashboard.board.rows
        )
        mine = dashboard.board.caller
        you = f"\nYou: #{mine.rank} with {mine.points}" if mine else "\nYou: no points yet"
        where = f"*Leaderboard in <#{escape(dashboard.channel_id)}>*"
        blocks.append(section(f"{where}\n{rows or 'No points yet.'}{you}"))
    if dashboard.next_post is not None:
        blocks.append(context(f"Next daily question: {dashboard.next_post:%a %d %b %H:%M %Z}"))
    elif dashboard.channel_id is None:
        blocks.append(
            context(
                "No daily question yet: an admin can start one in a channel "
                "with `/virtsec daily on 09:00 Europe/Berlin`."
            )
        )
    return blocks
