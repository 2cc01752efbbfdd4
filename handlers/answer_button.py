"""Answer buttons on the daily question: record the first click, reply privately."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.core import Core
from bot.scoring import ClickStatus
from handlers.actions import DAILY_ANSWER, matching
from handlers.app_home import HomePublisher
from handlers.blocks import render
from handlers.response_url import Replies, Reply
from handlers.slack_context import caller_from, ephemeral

logger = logging.getLogger(__name__)


def register(
    app: App, core: Core, after_ack: ThreadPoolExecutor, replies: Replies, home: HomePublisher
) -> None:
    """Add the daily-answer listener; private replies go out on `after_ack` threads."""

    @app.action(matching(DAILY_ANSWER))
    def record(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        # Recorded before Slack gets its 200 (a few ms, well inside 3 s), so one person's
        # clicks are stored in the order they were sent and the first one counts.
        caller = caller_from(body)
        value = str(action.get("value", ""))
        result = core.answering.answer(caller.team_id, caller.user_id, value, caller.channel_id)
        ack()
        # the reply needs no copy of the request (Bolt's lazy listeners deep-copy it)
        respond = replies.to(context.response_url)
        after_ack.submit(_reply, respond, ephemeral(render(result), replace_original=False))
        if result.status == ClickStatus.RECORDED:  # after the ack: it reads the database
            after_ack.submit(_refresh_home, home, caller.team_id, caller.user_id)


def _refresh_home(home: HomePublisher, team_id: str, user_id: str) -> None:
    try:
        home.answered(team_id, user_id)
    except Exception:
        logger.exception("refreshing a Home tab after an answer failed")


def _reply(respond: Reply, message: dict[str, Any]) -> None:
    try:
        respond(**message)
    except Exception:
        logger.exception("private reply to a daily answer failed")
