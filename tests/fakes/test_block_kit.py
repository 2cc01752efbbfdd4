"""The fake Slack refuses what Slack refuses: one case per Block Kit rule, each naming the
reference page (docs.slack.dev/reference/block-kit/...) it comes from. A message that breaks
a rule gets `invalid_blocks` from chat.postMessage and HTTP 400 from a response_url."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack_api import FakeSlack


def text(t: str, kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": kind, "text": t}


def button(action_id: str, label: str = "Go", value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": text(label, "plain_text"),
        "value": value,
    }


def section(t: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": text(t), **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


# (reference page, what is wrong, blocks)
BROKEN: list[tuple[str, str, list[dict[str, Any]]]] = [
    (
        "block-elements/button-element",
        "an action_id repeated in one block",
        [actions(button("daily_answer"), button("daily_answer"))],
    ),
    (
        "blocks (block_id)",
        "a block_id repeated in one message",
        [section(block_id="b1"), section(block_id="b1")],
    ),
    ("blocks", "51 blocks in a message", [section() for _ in range(51)]),
    (
        "blocks/actions-block",
        "26 elements in an actions block",
        [actions(*(button(f"a{i}") for i in range(26)))],
    ),
    (
        "blocks/context-block",
        "11 elements in a context block",
        [{"type": "context", "elements": [text("x") for _ in range(11)]}],
    ),
    (
        "blocks/section-block",
        "11 fields in a section",
        [{"type": "section", "fields": [text("f") for _ in range(11)]}],
    ),
    ("blocks/section-block", "section text over 3000 characters", [section("x" * 3001)]),
    (
        "blocks/section-block",
        "a field over 2000 characters",
        [{"type": "section", "fields": [text("x" * 2001)]}],
    ),
    (
        "blocks/header-block",
        "header text over 150 characters",
        [{"type": "header", "text": text("x" * 151, "plain_text")}],
    ),
    (
        "block-elements/button-element",
        "a button label over 75 characters",
        [actions(button("a", label="x" * 76))],
    ),
    (
        "block-elements/button-element",
        "a button value over 2000 characters",
        [actions(button("a", value="x" * 2001))],
    ),
    (
        "block-elements/button-element",
        "an action_id over 255 characters",
        [actions(button("a" * 256))],
    ),
    ("blocks (block_id)", "a block_id over 255 characters", [section(block_id="b" * 256)]),
    ("composition-objects/text-object", "an empty text object", [section("")]),
]


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.mark.parametrize(("page", "what", "blocks"), BROKEN, ids=[b[1] for b in BROKEN])
def test_slack_refuses_a_message_that_breaks_a_rule(
    slack: FakeSlack, page: str, what: str, blocks: list[dict[str, Any]]
) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks", page
    request = urllib.request.Request(
        slack.response_url(what),
        data=json.dumps({"text": "x", "blocks": blocks}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=5)
    http_error.value.close()
    assert http_error.value.code == 400
    assert slack.responses(what) == []
    slack.clear()


def test_a_home_tab_may_hold_100_blocks_but_not_101(slack: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section()] * 100})
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [section()] * 101})
    slack.clear()


def test_numbered_action_ids_and_distinct_blocks_are_accepted(slack: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    blocks = [
        actions(*(button(f"daily_answer:{i}") for i in range(4))),
        actions(button("daily_answer:0")),  # the same id in another block is fine
        section(block_id="b1"),
        section(block_id="b2"),
    ]
    assert client.chat_postMessage(channel="C1", text="ok", blocks=blocks)["ok"]
    assert slack.refusals == []
