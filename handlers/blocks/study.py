"""Block Kit for studying: concept cards, lookups, topics, tips, scenarios, practice."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.lookup import Match
from bot.results import (
    ConceptCard,
    Gap,
    GapsResult,
    HelpResult,
    LookupReply,
    Notice,
    Picked,
    PracticeOutcome,
    PracticeQuestion,
    ScenarioResult,
    TipResult,
    TopicList,
)
from handlers.actions import LOOKUP_NONE, LOOKUP_PICK, PRACTICE_NEXT, SHARE_CONCEPT, numbered
from handlers.blocks.common import (
    MAX_BLOCKS,
    Rendered,
    button,
    choice_lines,
    concept_buttons,
    context,
    echo,
    escape,
    finish,
    header,
    practice_buttons,
    section,
    sections,
    sources,
)

MAX_FALLBACK = 3000  # the notification text of a message


def card_blocks(card: ConceptCard, *, share: bool = True, details: bool = True) -> list[Block]:
    """A concept as blocks: title, summary, details, exam tip, sources, buttons."""
    c = card.concept
    blocks: list[Block] = [header(c.title), section(escape(c.summary))]
    if details and c.details:
        blocks.append(section(escape(c.details)))
    if c.exam_tip:
        blocks.append(section(f":bulb: *Exam tip:* {escape(c.exam_tip)}"))
    blocks.append(sources(c.sources))
    buttons = concept_buttons(card.related, limit=4)
    if share:
        buttons.append(button("Share in channel", SHARE_CONCEPT, c.id, style="primary"))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def render_card(card: ConceptCard, *, share: bool = True) -> Rendered:
    """A concept card."""
    return finish(f"{card.concept.title}: {card.concept.summary}", card_blocks(card, share=share))


def render_shared(card: ConceptCard, user_id: str) -> Rendered:
    """A concept shared to the channel, naming who shared it."""
    blocks = [
        context(f"<@{escape(user_id)}> shared this from `/virtsec`"),
        *card_blocks(card, share=False, details=False),
    ]
    return finish(f"{card.concept.title}: {card.concept.summary}", blocks)


def _suggestion_buttons(matches: Sequence[Match]) -> list[Block]:
    if not matches:
        return []
    return [ActionsBlock(elements=concept_buttons(m.concept for m in matches))]


MAX_PICKED_QUERY = 300  # of a query carried in a button (Slack allows 2,000 per value)


def pick_value(query: str, concept_id: str | None = None) -> str:
    """A "Did you mean" button's value: the query it answers, and the concept picked."""
    value = {"q": query[:MAX_PICKED_QUERY]}
    if concept_id is not None:
        value["c"] = concept_id
    return json.dumps(value, separators=(",", ":"))


def _pick_buttons(query: str, matches: Sequence[Match]) -> list[Block]:
    picks = [
        button(m.concept.title, numbered(LOOKUP_PICK, i), pick_value(query, m.concept.id))
        for i, m in enumerate(matches)
    ]
    picks.append(button("None of these", LOOKUP_NONE, pick_value(query)))
    return [ActionsBlock(elements=picks)]


def render_answer(answer: LookupReply) -> Rendered:
    """A lookup answer, a comparison, or an honest no-match with 'did you mean' buttons."""
    result = answer.lookup
    if answer.card is None:
        text = f"No good match for “{echo(result.query)}” in the virtualization-security notes."
        blocks: list[Block] = [section(text)]
        if result.suggestions:
            blocks.append(context("Did you mean one of these? Your pick helps me learn."))
            blocks += _pick_buttons(result.query, result.suggestions)
        else:
            blocks.append(
                context(
                    "Try a concept name such as “VM escape”, “type 1 "
                    "hypervisor” or “k8s RBAC”, or `/virtsec topics`."
                )
            )
        return finish(text, blocks)
    if answer.compared:
        names = " and ".join(card.concept.title for card in answer.compared)
        blocks = [section(f"*Comparing {escape(names)}*")]
        for card in answer.compared:
            blocks += [DividerBlock(), *card_blocks(card, details=False)]
        return finish(f"Comparing {names}", blocks)
    blocks = card_blocks(answer.card)
    if answer.learned:
        blocks.append(context("Your team taught me this answer."))
    if result.suggestions:
        blocks.append(context("See also:"))
        blocks += _suggestion_buttons(result.suggestions)
    return finish(f"{answer.card.concept.title}: {answer.card.concept.summary}", blocks)


def render_picked(result: Picked) -> Rendered:
    """The picked concept, and whether the query now answers it for the whole team."""
    note = (
        f"Thanks: “{echo(result.query)}” now answers this directly for your team."
        if result.learned
        else "Thanks, noted. When someone else picks the same, your team gets it directly."
    )
    blocks = [*card_blocks(result.card), context(note)]
    card = result.card.concept
    return finish(f"{card.title}: {card.summary}", blocks)


def render_gaps(result: GapsResult) -> Rendered:
    """What the bot could not answer lately, most asked first (admins)."""

    def listed(gaps: Sequence[Gap]) -> str:
        return "\n".join(f"{g.times}× {echo(g.query)}" for g in gaps) or "_none_"

    blocks: list[Block] = [
        header(f"Lookup gaps, last {result.days} days"),
        section("*Questions I could not answer*\n" + listed(result.unanswered)),
        section("*“None of these” to my suggestions*\n" + listed(result.refused)),
        context(
            f"Taught queries: {result.taught}. Teach one with `/virtsec teach <words> = "
            "<concept-id>`; undo with `/virtsec forget <words>`."
        ),
    ]
    return finish(f"Lookup gaps, last {result.days} days", blocks)


def render_help(result: HelpResult) -> Rendered:
    """Usage."""
    return finish(
        "virtsec help",
        [
            section("*virtsec* — your virtualization-security study assistant."),
            section("```" + escape(result.usage) + "```"),
        ],
    )


def render_notice(notice: Notice) -> Rendered:
    """A short message."""
    icon = ":warning: " if notice.error else ""
    return finish(notice.text[:MAX_FALLBACK], sections(icon + escape(notice.text)))


def render_topics(result: TopicList) -> Rendered:
    """Concepts by tag, as sections (one tag: with buttons)."""
    blocks: list[Block] = []
    for tag, concepts in result.groups:
        names = ", ".join(escape(c.title) for c in concepts)
        blocks.append(section(f"*{escape(tag)}* ({len(concepts)}): {names}"[:3000]))
    if result.tag is not None and result.groups:
        concepts = result.groups[0][1]
        for start in range(0, min(len(concepts), 25), 5):
            blocks.append(ActionsBlock(elements=concept_buttons(concepts[start : start + 5])))
    title = f"Topics: {result.tag}" if result.tag else "Topics"
    return finish(title, [header(title), *blocks][:MAX_BLOCKS])


def render_tip(result: TipResult) -> Rendered:
    """An exam tip."""
    blocks: list[Block] = [
        section(f":bulb: *Exam tip:* {escape(result.tip.text)}"),
        sources(result.tip.sources),
    ]
    if result.concepts:
        blocks.append(ActionsBlock(elements=concept_buttons(result.concepts)))
    return finish(f"Exam tip: {result.tip.text}", blocks)


def render_scenario(result: ScenarioResult) -> Rendered:
    """A worked case, step by step."""
    s = result.scenario
    blocks: list[Block] = [header(s.title), section(escape(s.situation))]
    steps = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(s.walkthrough, 1))
    while steps:  # split long walkthroughs over several sections
        cut = steps.rfind("\n", 0, 3000) if len(steps) > 3000 else len(steps)
        blocks.append(section(steps[:cut]))
        steps = steps[cut:].lstrip("\n")
    blocks.append(sources(s.sources))
    if result.concepts:
        blocks.append(ActionsBlock(elements=concept_buttons(result.concepts)))
    return finish(f"Scenario: {s.title}", blocks)


def render_practice_question(result: PracticeQuestion) -> Rendered:
    """A practice question with one button per choice."""
    q = result.question
    return finish(
        f"Practice question: {q.prompt}",
        [
            context(f"Practice question · {q.difficulty} · not scored"),
            section(f"*{escape(q.prompt)}*\n{choice_lines(q)}"),
            practice_buttons(q),
        ],
    )


def render_practice_outcome(result: PracticeOutcome) -> Rendered:
    """Right or wrong, the explanation, and what to do next."""
    q = result.question
    chosen = q.label(result.chosen)
    right = q.answer_label
    verdict = (
        f":white_check_mark: *Correct:* {escape(right)}"
        if result.correct
        else f":x: You chose {escape(chosen)}. *The answer is {escape(right)}.*"
    )
    buttons = [
        button("Next question", PRACTICE_NEXT, q.id, style="primary"),
        *concept_buttons(result.concepts, limit=3),
    ]
    text = (
        "Correct! " if result.correct else f"Not quite: the answer is {right}. "
    ) + q.explanation
    return finish(
        text,
        [
            section(f"*{escape(q.prompt)}*"),
            section(verdict),
            section(escape(q.explanation)),
            sources(q.sources),
            ActionsBlock(elements=buttons),
        ],
    )
