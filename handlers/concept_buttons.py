"""Buttons on concept cards: open a related concept, share a card in the channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core import Core
from bot.results import Notice
from handlers.actions import OPEN_CONCEPT, SHARE_CONCEPT, matching
from handlers.app_home import HomePublisher, answered_in_home
from handlers.blocks import render
from handlers.blocks.study import render_notice, render_shared
from handlers.response_url import Replies
from handlers.slack_channel import REFUSALS
from handlers.slack_context import (
    SLACK_UNREACHABLE,
    ack_only,
    caller_from,
    ephemeral,
    from_ephemeral,
)
from handlers.web_api import posting_client

logger = logging.getLogger(__name__)
NO_CHANNEL = "Share a card from a message in a channel: `/virtsec <question>` there."
NOT_IN_CHANNEL = (
    "I can't post in this conversation. Invite me first (`/invite @virtsec`), then share again."
)


def register(app: App, core: Core, replies: Replies, home: HomePublisher) -> None:
    """Add the concept-card button listeners (acknowledged at once, answered after). A click
    on the Home tab (no response_url there) is answered on the Home tab."""

    def open_concept(body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        card = core.study.concept(str(action.get("value", "")))
        if answered_in_home(body):
            caller = caller_from(body)
            home.publish(caller.team_id, caller.user_id, card)
            return
        respond = replies.to(context.response_url)
        respond(**ephemeral(render(card), replace_original=from_ephemeral(body)))

    def share_concept(
        body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        def tell(notice: Notice) -> None:
            if answered_in_home(body):
                caller = caller_from(body)
                home.publish(caller.team_id, caller.user_id, notice)
            else:
                respond = replies.to(context.response_url)
                respond(**ephemeral(render_notice(notice), replace_original=False))

        card = core.study.concept(str(action.get("value", "")))
        channel = caller_from(body).channel_id
        if isinstance(card, Notice) or not channel:
            tell(card if isinstance(card, Notice) else Notice(NO_CHANNEL, error=True))
            return
        text, blocks = render_shared(card, caller_from(body).user_id)
        try:  # posted once: no blind retry after a dropped connection or a 5xx
            posting_client(client).chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            error = exc.response.get("error")
            logger.warning("sharing %s in %s failed: %s", card.concept.id, channel, error)
            tell(Notice(NOT_IN_CHANNEL if error in REFUSALS else SLACK_UNREACHABLE, error=True))
            return
        except (SlackClientError, OSError) as exc:
            logger.warning("sharing %s failed: %s", card.concept.id, exc)
            tell(Notice(SLACK_UNREACHABLE, error=True))
            return
        tell(Notice(f"Shared “{card.concept.title}” in the channel."))

    app.action(matching(OPEN_CONCEPT))(ack=ack_only, lazy=[open_concept])
    app.action(matching(SHARE_CONCEPT))(ack=ack_only, lazy=[share_concept])
