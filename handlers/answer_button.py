"""Answer buttons on the daily question: record the first click, reply privately."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.assistant import Assistant
from bot.daily_service import AnswerOutcome
from handlers.blocks import DAILY_ANSWER, render
from handlers.slack_context import ephemeral

OUTCOME = "virtsec_outcome"


def register(app: App, assistant: Assistant) -> None:
    """Add the daily-answer listener."""

    def record(ack: Ack, body: dict[str, Any], action: dict[str, Any],
               context: BoltContext) -> None:
        # Recorded before Slack gets its 200 (a few ms, well inside 3 s), so one person's
        # clicks are stored in the order they were sent and the first one counts.
        team_id = body.get("team", {}).get("id") or body["user"].get("team_id", "")
        context[OUTCOME] = assistant.answer_daily(team_id, body["user"]["id"],
                                                  str(action.get("value", "")))
        ack()

    def reply(context: BoltContext, respond: Respond) -> None:
        outcome = context.get(OUTCOME)
        if isinstance(outcome, AnswerOutcome):
            respond(**ephemeral(render(outcome), replace_original=False))

    app.action(DAILY_ANSWER)(ack=record, lazy=[reply])
