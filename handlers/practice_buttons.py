"""Buttons on a practice question: answer it, get the next one (in a message or the Home tab)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.core import Core
from handlers.actions import PRACTICE_ANSWER, PRACTICE_NEXT, matching
from handlers.app_home import HomePublisher, answered_in_home
from handlers.blocks import render
from handlers.response_url import Replies
from handlers.slack_context import ack_only, caller_from, ephemeral


def register(app: App, core: Core, home: HomePublisher, replies: Replies) -> None:
    """Add the practice-question button listeners (acknowledged at once, answered after)."""

    def answer(body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        caller = caller_from(body)
        question_id, _, chosen = str(action.get("value", "")).rpartition("|")
        number = chosen.isascii() and chosen.isdigit() and len(chosen) <= 2
        outcome = core.practice.answer(caller, question_id, int(chosen) if number else -1)
        if answered_in_home(body):
            home.publish(caller.team_id, caller.user_id, outcome)
            return
        replies.to(context.response_url)(**ephemeral(render(outcome), replace_original=True))

    def next_question(body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        question = core.practice.next_question(
            caller_from(body), exclude=str(action.get("value", ""))
        )
        replies.to(context.response_url)(**ephemeral(render(question), replace_original=True))

    app.action(matching(PRACTICE_ANSWER))(ack=ack_only, lazy=[answer])
    app.action(matching(PRACTICE_NEXT))(ack=ack_only, lazy=[next_question])
