"""The rules Slack enforces on a whole message or view, which slack_sdk's per-block classes
do not check. Slack refuses a message that breaks one (`invalid_blocks` from the Web API,
HTTP 400 from a response_url), so the fake Slack refuses it too.

Each rule cites the Block Kit reference page it comes from (docs.slack.dev/reference/
block-kit/...). A problem names the JSON pointer of the offending field, as Slack's error
does ("[json-pointer:/blocks/0/elements/1/action_id]").
"""

from __future__ import annotations

from typing import Any, Literal

Surface = Literal["message", "home", "modal"]

MAX_BLOCKS = {"message": 50, "home": 100, "modal": 100}  # blocks: "Blocks" overview
MAX_ID = 255  # action_id and block_id, every block and element page
MAX_SECTION_TEXT = 3000  # blocks/section-block: text
MAX_SECTION_FIELDS = 10  # blocks/section-block: fields
MAX_FIELD_TEXT = 2000  # blocks/section-block: each field
MAX_HEADER_TEXT = 150  # blocks/header-block: text
MAX_ACTIONS_ELEMENTS = 25  # blocks/actions-block: elements
MAX_CONTEXT_ELEMENTS = 10  # blocks/context-block: elements
MAX_BUTTON_TEXT = 75  # block-elements/button-element: text
MAX_BUTTON_VALUE = 2000  # block-elements/button-element: value


def problems(blocks: Any, surface: Surface = "message") -> list[str]:
    """Everything in `blocks` that Slack would refuse, as "message [json-pointer:...]"."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["blocks must be a list [json-pointer:/blocks]"]
    out: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        out.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            out.append(f"a block must be an object with a type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            out += _id(block_id, f"{where}/block_id")
            if block_id in block_ids:
                out.append(f"block_id `{block_id}` already exists [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        out += _block(block, where)
    return out


def _block(block: dict[str, Any], where: str) -> list[str]:
    kind = block["type"]
    out: list[str] = []
    action_ids: set[str] = set()
    elements: list[tuple[dict[str, Any], str]] = []
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            out.append(f"a section needs text or fields [json-pointer:{where}]")
        if text is not None:
            out += _text(text, f"{where}/text", MAX_SECTION_TEXT)
        if fields is not None:
            if len(fields) > MAX_SECTION_FIELDS:
                out.append(
                    f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]"
                )
            for j, field in enumerate(fields):
                out += _text(field, f"{where}/fields/{j}", MAX_FIELD_TEXT)
        if "accessory" in block:
            elements.append((block["accessory"], f"{where}/accessory"))
    elif kind == "header":
        text = block.get("text")
        out += _text(text, f"{where}/text", MAX_HEADER_TEXT)
        if isinstance(text, dict) and text.get("type") != "plain_text":
            out.append(f"a header's text must be plain_text [json-pointer:{where}/text/type]")
    elif kind == "actions":
        items = block.get("elements") or []
        if not items:
            out.append(f"an actions block needs elements [json-pointer:{where}/elements]")
        if len(items) > MAX_ACTIONS_ELEMENTS:
            out.append(
                f"no more than {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}/elements]"
            )
        elements += [(e, f"{where}/elements/{j}") for j, e in enumerate(items)]
    elif kind == "context":
        items = block.get("elements") or []
        if not items:
            out.append(f"a context block needs elements [json-pointer:{where}/elements]")
        if len(items) > MAX_CONTEXT_ELEMENTS:
            out.append(
                f"no more than {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:{where}/elements]"
            )
        for j, item in enumerate(items):
            if isinstance(item, dict) and item.get("type") in ("mrkdwn", "plain_text"):
                out += _text(item, f"{where}/elements/{j}", MAX_SECTION_TEXT)
    for element, at in elements:
        out += _element(element, at, action_ids)
    return out


def _element(element: Any, where: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, dict):
        return [f"an element must be an object [json-pointer:{where}]"]
    out: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None:
        out += _id(action_id, f"{where}/action_id")
        if action_id in action_ids:
            out.append(f"action_id `{action_id}` already exists [json-pointer:{where}/action_id]")
        action_ids.add(action_id)
    if element.get("type") == "button":
        out += _text(element.get("text"), f"{where}/text", MAX_BUTTON_TEXT)
        value = element.get("value")
        if value is not None and len(str(value)) > MAX_BUTTON_VALUE:
            out.append(
                f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{where}/value]"
            )
    return out


def _text(obj: Any, where: str, limit: int) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be a text object [json-pointer:{where}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _id(value: Any, where: str) -> list[str]:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        return [f"must be 1 to {MAX_ID} characters [json-pointer:{where}]"]
    return []
