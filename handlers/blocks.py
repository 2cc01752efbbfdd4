"""Block Kit renderers: core results in, (fallback text, blocks) out.

Blocks are built with slack_sdk's model classes, whose `to_dict()` validates
Slack's length limits; `MAX_BLOCKS` is checked here because nothing else does.
Every piece of text that came from a user or the knowledge base is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.knowledge_base import Concept
from bot.lookup import Match
from bot.services import (
    Answer,
    ConceptCard,
    HelpResult,
    Notice,
    PracticeOutcome,
    PracticeQuestion,
    Response,
    ScenarioResult,
    TipResult,
    TopicList,
)

MAX_BLOCKS = 50
MAX_ECHO = 200
OPEN_CONCEPT = "concept_open"
SHARE_CONCEPT = "concept_share"
PRACTICE_ANSWER = "practice_answer"
PRACTICE_NEXT = "practice_next"
LETTERS = "ABCDE"

Rendered = tuple[str, list[dict[str, Any]]]


def escape(text: str) -> str:
    """Escape &, < and > so user text can never ping (<!channel>) or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def echo(text: str) -> str:
    """User text shown back: one line, printable, shortened, escaped."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    clean = " ".join(clean.split())
    if len(clean) > MAX_ECHO:
        clean = clean[: MAX_ECHO - 1] + "…"
    return escape(clean)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    if len(label) > 75:
        label = label[:74] + "…"
    return ButtonElement(text=PlainTextObject(text=label, emoji=True), action_id=action_id,
                         value=value, style=style)


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=text[:150], emoji=True))


def _finish(text: str, blocks: Sequence[Block]) -> Rendered:
    dicts = [b.to_dict() for b in blocks]  # to_dict() validates Slack's limits
    if len(dicts) > MAX_BLOCKS:
        raise ValueError(f"{len(dicts)} blocks; Slack allows {MAX_BLOCKS} in a message")
    return text, dicts


def _concept_buttons(concepts: Iterable[Concept], limit: int = 5) -> list[ButtonElement]:
    return [_button(c.title, OPEN_CONCEPT, c.id) for c in list(concepts)[:limit]]


def _sources(sources: Sequence[str]) -> ContextBlock:
    return _context("*Sources:* " + escape("; ".join(sources)))


def card_blocks(card: ConceptCard, *, share: bool = True, details: bool = True) -> list[Block]:
    """A concept as blocks: title, summary, details, exam tip, sources, buttons."""
    c = card.concept
    blocks: list[Block] = [_header(c.title), _section(escape(c.summary))]
    if details and c.details:
        blocks.append(_section(escape(c.details)))
    if c.exam_tip:
        blocks.append(_section(f":bulb: *Exam tip:* {escape(c.exam_tip)}"))
    blocks.append(_sources(c.sources))
    buttons = _concept_buttons(card.related, limit=4)
    if share:
        buttons.append(_button("Share in channel", SHARE_CONCEPT, c.id, style="primary"))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def render_card(card: ConceptCard, *, share: bool = True) -> Rendered:
    """A concept card."""
    return _finish(f"{card.concept.title}: {card.concept.summary}", card_blocks(card, share=share))


def render_shared(card: ConceptCard, user_id: str) -> Rendered:
    """A concept shared to the channel, naming who shared it."""
    blocks = [_context(f"<@{escape(user_id)}> shared this from `/virtsec`"),
              *card_blocks(card, share=False, details=False)]
    return _finish(f"{card.concept.title}: {card.concept.summary}", blocks)


def _suggestion_buttons(matches: Sequence[Match]) -> list[Block]:
    if not matches:
        return []
    return [ActionsBlock(elements=_concept_buttons(m.concept for m in matches))]


def render_answer(answer: Answer) -> Rendered:
    """A lookup answer, a comparison, or an honest no-match with 'did you mean' buttons."""
    result = answer.lookup
    if answer.card is None:
        text = f"No good match for “{echo(result.query)}” in the virtualization-security notes."
        blocks: list[Block] = [_section(text)]
        if result.suggestions:
            blocks.append(_context("Did you mean:"))
            blocks += _suggestion_buttons(result.suggestions)
        else:
            blocks.append(_context("Try a concept name such as “VM escape”, “type 1 "
                                   "hypervisor” or “k8s RBAC”, or `/virtsec topics`."))
        return _finish(text, blocks)
    if answer.compared:
        names = " and ".join(card.concept.title for card in answer.compared)
        blocks = [_section(f"*Comparing {escape(names)}*")]
        for card in answer.compared:
            blocks += [DividerBlock(), *card_blocks(card, details=False)]
        return _finish(f"Comparing {names}", blocks)
    blocks = card_blocks(answer.card)
    if result.suggestions:
        blocks.append(_context("See also:"))
        blocks += _suggestion_buttons(result.suggestions)
    return _finish(f"{answer.card.concept.title}: {answer.card.concept.summary}", blocks)


def render_help(result: HelpResult) -> Rendered:
    """Usage."""
    return _finish("virtsec help", [
        _section("*virtsec* — your virtualization-security study assistant."),
        _section("```" + escape(result.usage) + "```"),
    ])


def render_notice(notice: Notice) -> Rendered:
    """A short message."""
    icon = ":warning: " if notice.error else ""
    return _finish(notice.text, [_section(icon + escape(notice.text))])


def render_topics(result: TopicList) -> Rendered:
    """Concepts by tag, as sections (one tag: with buttons)."""
    blocks: list[Block] = []
    for tag, concepts in result.groups:
        names = ", ".join(escape(c.title) for c in concepts)
        blocks.append(_section(f"*{escape(tag)}* ({len(concepts)}): {names}"[:3000]))
    if result.tag is not None and result.groups:
        concepts = result.groups[0][1]
        for start in range(0, min(len(concepts), 25), 5):
            blocks.append(ActionsBlock(elements=_concept_buttons(concepts[start:start + 5])))
    title = f"Topics: {result.tag}" if result.tag else "Topics"
    return _finish(title, [_header(title), *blocks][:MAX_BLOCKS])


def render_tip(result: TipResult) -> Rendered:
    """An exam tip."""
    blocks: list[Block] = [_section(f":bulb: *Exam tip:* {escape(result.tip.text)}"),
                           _sources(result.tip.sources)]
    if result.concepts:
        blocks.append(ActionsBlock(elements=_concept_buttons(result.concepts)))
    return _finish(f"Exam tip: {result.tip.text}", blocks)


def render_scenario(result: ScenarioResult) -> Rendered:
    """A worked case, step by step."""
    s = result.scenario
    blocks: list[Block] = [_header(s.title), _section(escape(s.situation))]
    steps = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(s.walkthrough, 1))
    while steps:  # split long walkthroughs over several sections
        cut = steps.rfind("\n", 0, 3000) if len(steps) > 3000 else len(steps)
        blocks.append(_section(steps[:cut]))
        steps = steps[cut:].lstrip("\n")
    blocks.append(_sources(s.sources))
    if result.concepts:
        blocks.append(ActionsBlock(elements=_concept_buttons(result.concepts)))
    return _finish(f"Scenario: {s.title}", blocks)


def render_practice_question(result: PracticeQuestion) -> Rendered:
    """A practice question with one button per choice."""
    q = result.question
    lines = "\n".join(f"*{LETTERS[i]}.* {escape(c)}" for i, c in enumerate(q.choices))
    buttons = [_button(f"{LETTERS[i]}. {c}", PRACTICE_ANSWER, f"{q.id}|{i}")
               for i, c in enumerate(q.choices)]
    return _finish(f"Practice question: {q.prompt}", [
        _context(f"Practice question · {q.difficulty} · not scored"),
        _section(f"*{escape(q.prompt)}*\n{lines}"),
        ActionsBlock(elements=buttons),
    ])


def render_practice_outcome(result: PracticeOutcome) -> Rendered:
    """Right or wrong, the explanation, and what to do next."""
    q = result.question
    chosen = f"{LETTERS[result.chosen]}. {q.choices[result.chosen]}"
    right = f"{LETTERS[q.answer_index]}. {q.answer}"
    verdict = (f":white_check_mark: *Correct:* {escape(right)}" if result.correct else
               f":x: You chose {escape(chosen)}. *The answer is {escape(right)}.*")
    buttons = [_button("Next question", PRACTICE_NEXT, q.id, style="primary"),
               *_concept_buttons(result.concepts, limit=3)]
    text = ("Correct! " if result.correct else f"Not quite: the answer is {right}. ") + \
        q.explanation
    return _finish(text, [
        _section(f"*{escape(q.prompt)}*"),
        _section(verdict),
        _section(escape(q.explanation)),
        _sources(q.sources),
        ActionsBlock(elements=buttons),
    ])


def render(response: Response | PracticeOutcome) -> Rendered:
    """Render any core result."""
    if isinstance(response, Answer):
        return render_answer(response)
    if isinstance(response, ConceptCard):
        return render_card(response)
    if isinstance(response, HelpResult):
        return render_help(response)
    if isinstance(response, TopicList):
        return render_topics(response)
    if isinstance(response, TipResult):
        return render_tip(response)
    if isinstance(response, ScenarioResult):
        return render_scenario(response)
    if isinstance(response, PracticeQuestion):
        return render_practice_question(response)
    if isinstance(response, PracticeOutcome):
        return render_practice_outcome(response)
    return render_notice(response)


def render_home(study_counts: dict[str, int], user_id: str) -> list[dict[str, Any]]:
    """The App Home tab (the full dashboard comes with personal practice)."""
    blocks: list[Block] = [
        _header("virtsec — virtualization security study"),
        _section(f"Hi <@{escape(user_id)}>! Ask me anything about virtualization security "
                 "with `/virtsec <question>`, e.g. `/virtsec what is VM escape`."),
        _section(f"The notes hold *{study_counts['concepts']} concepts*, "
                 f"*{study_counts['questions']} practice questions*, "
                 f"{study_counts['tips']} exam tips and {study_counts['scenarios']} worked "
                 "scenarios, each with its sources."),
        DividerBlock(),
        _section("*Try:* `/virtsec quiz` · `/virtsec topics` · `/virtsec tip` · "
                 "`/virtsec scenario` · `/virtsec help`"),
    ]
    return [b.to_dict() for b in blocks]
