"""Answer buttons on the daily question: record the first click, reply privately."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.assistant import Assistant
from handlers.blocks import DAILY_ANSWER, render
from handlers.slack_context import ephemeral


def register(app: App, assistant: Assistant) -> None:
    """Add the daily-answer listener."""

    @app.action(DAILY_ANSWER)
    def daily_answer(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                     respond: Respond) -> None:
        # Record before acknowledging (a few ms, well inside Slack's 3 s): Bolt answers the
        # HTTP request when ack() is called, so one person's clicks are stored in the
        # order they were sent and the first click is the one that counts.
        team_id = body.get("team", {}).get("id") or body["user"].get("team_id", "")
        outcome = assistant.answer_daily(team_id, body["user"]["id"],
                                         str(action.get("value", "")))
        ack()
        respond(**ephemeral(render(outcome), replace_original=False))
