"""Block Kit building blocks shared by every renderer: escaping, sections, buttons, limits.

Blocks are built with slack_sdk's model classes, whose `to_dict()` validates Slack's length
limits; `MAX_BLOCKS` is checked in `finish` because nothing else does. Every piece of text
that came from a user or the knowledge base is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.knowledge_base import LETTERS, Concept, Question
from handlers.actions import OPEN_CONCEPT, PRACTICE_ANSWER, numbered

MAX_BLOCKS = 50
MAX_ECHO = 200
MAX_SECTION_TEXT = 3000

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


def quoted(text: str) -> str:
    """User text shown in a channel as inline code: escaped, shortened, and neither a
    link nor a mention (Slack formats nothing inside a code span)."""
    return "`" + echo(text).replace("`", "'") + "`"


def section(text: str) -> SectionBlock:
    """A markdown section."""
    return SectionBlock(text=MarkdownTextObject(text=text))


def sections(text: str, limit: int = MAX_SECTION_TEXT) -> list[SectionBlock]:
    """Markdown text over as many sections as Slack's limit needs, cut between lines (a
    single line over the limit is cut short)."""
    out: list[SectionBlock] = []
    chunk = ""
    for line in text.split("\n"):
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if chunk and len(chunk) + 1 + len(line) > limit:
            out.append(section(chunk))
            chunk = line
        else:
            chunk = f"{chunk}\n{line}" if chunk else line
    if chunk.strip():
        out.append(section(chunk))
    return out


def context(text: str) -> ContextBlock:
    """A small grey markdown line."""
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    """A button; labels over Slack's 75 characters are shortened."""
    if len(label) > 75:
        label = label[:74] + "…"
    return ButtonElement(
        text=PlainTextObject(text=label, emoji=True), action_id=action_id, value=value, style=style
    )


def header(text: str) -> HeaderBlock:
    """A header (Slack allows 150 characters)."""
    return HeaderBlock(text=PlainTextObject(text=text[:150], emoji=True))


def finish(text: str, blocks: Sequence[Block]) -> Rendered:
    """Fallback text and validated block dicts; more than MAX_BLOCKS is an error."""
    dicts = [b.to_dict() for b in blocks]  # to_dict() validates Slack's limits
    if len(dicts) > MAX_BLOCKS:
        raise ValueError(f"{len(dicts)} blocks; Slack allows {MAX_BLOCKS} in a message")
    return text, dicts


def concept_buttons(concepts: Iterable[Concept], limit: int = 5) -> list[ButtonElement]:
    """One "open this concept" button each, at most `limit`."""
    shown = list(concepts)[:limit]
    return [button(c.title, numbered(OPEN_CONCEPT, i), c.id) for i, c in enumerate(shown)]


def sources(refs: Sequence[str]) -> ContextBlock:
    """The sources line under a card or an explanation."""
    return context("*Sources:* " + escape("; ".join(refs)))


def choice_lines(q: Question) -> str:
    """A question's choices, one lettered line each."""
    return "\n".join(f"*{LETTERS[i]}.* {escape(c)}" for i, c in enumerate(q.choices))


def practice_buttons(q: Question) -> ActionsBlock:
    """One answer button per choice of a practice question."""
    return ActionsBlock(
        elements=[
            button(q.label(i), numbered(PRACTICE_ANSWER, i), f"{q.id}|{i}")
            for i, c in enumerate(q.choices)
        ]
    )


def bar(share: float, width: int = 10) -> str:
    """A share (0..1) drawn as a bar of blocks."""
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled)
