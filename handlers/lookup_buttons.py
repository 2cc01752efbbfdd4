""" "Did you mean" buttons under a lookup without a confident answer: a pick (shown, and
learned by the team once two people or an admin agree) or "None of these"."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.config import Settings
from bot.core import Core
from bot.results import Notice
from handlers.actions import LOOKUP_NONE, LOOKUP_PICK, matching
from handlers.blocks import render
from handlers.blocks.study import render_notice
from handlers.response_url import Replies
from handlers.slack_context import (
    SLACK_UNREACHABLE,
    SlackUser,
    ack_only,
    caller_from,
    ephemeral,
    from_ephemeral,
    is_admin,
)
from handlers.slack_users import Directory, SlackUnavailable

STALE = "That button is out of date; ask your question again."


def register(
    app: App, core: Core, settings: Settings, replies: Replies, directory: Directory
) -> None:
    """Add the pick and "None of these" listeners (acknowledged at once, answered after)."""

    def picked(
        body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        respond = replies.to(context.response_url)
        value = _value(action)
        if value is None or "c" not in value:
            respond(**ephemeral(render_notice(Notice(STALE, error=True)), replace_original=False))
            return
        caller = caller_from(body)
        try:
            admin = is_admin(SlackUser(directory, client, caller.team_id, caller.user_id), settings)
        except SlackUnavailable:
            respond(**ephemeral(render_notice(Notice(SLACK_UNREACHABLE, error=True))))
            return
        caller = replace(caller, is_admin=admin)
        reply = core.learning.pick(caller, value["q"], value["c"])
        respond(**ephemeral(render(reply), replace_original=from_ephemeral(body)))

    def none_of_these(body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        respond = replies.to(context.response_url)
        value = _value(action)
        if value is None:
            respond(**ephemeral(render_notice(Notice(STALE, error=True)), replace_original=False))
            return
        reply = core.learning.none_of_these(caller_from(body), value["q"])
        respond(**ephemeral(render(reply), replace_original=from_ephemeral(body)))

    app.action(matching(LOOKUP_PICK))(ack=ack_only, lazy=[picked])
    app.action(matching(LOOKUP_NONE))(ack=ack_only, lazy=[none_of_these])


def _value(action: dict[str, Any]) -> dict[str, str] | None:
    """The button's {"q": query, "c": concept id}, or None when it is not one of ours."""
    try:
        value = json.loads(str(action.get("value", "")))
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("q"), str):
        return None
    if "c" in value and not isinstance(value["c"], str):
        return None
    return {k: v for k, v in value.items() if k in ("q", "c")}
