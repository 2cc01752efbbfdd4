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
from handlers.blocks import render
from handlers.blocks.study import render_notice, render_shared
from handlers.response_url import Replies
from handlers.slack_context import SLACK_UNREACHABLE, ack_only, ephemeral, from_ephemeral

logger = logging.getLogger(__name__)
NOT_IN_CHANNEL = (
    "I can't post in this conversation. Invite me first (`/invite @virtsec`), then share again."
)


def register(app: App, core: Core, replies: Replies) -> None:
    """Add the concept-card button listeners (acknowledged at once, answered after)."""

    def open_concept(body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        respond = replies.to(context.response_url)
        rendered = render(core.study.concept(str(action.get("value", ""))))
        respond(**ephemeral(rendered, replace_original=from_ephemeral(body)))

    def share_concept(
        body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        respond = replies.to(context.response_url)
        card = core.study.concept(str(action.get("value", "")))
        if isinstance(card, Notice):
            respond(**ephemeral(render_notice(card), replace_original=False))
            return
        text, blocks = render_shared(card, body["user"]["id"])
        channel = body.get("channel", {}).get("id") or body["container"]["channel_id"]
        try:
            client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            logger.warning(
                "sharing %s in %s failed: %s", card.concept.id, channel, exc.response.get("error")
            )
            reply = (
                NOT_IN_CHANNEL
                if exc.response.get("error")
                in ("not_in_channel", "channel_not_found", "is_archived")
                else SLACK_UNREACHABLE
            )
            respond(**ephemeral(render_notice(Notice(reply, error=True)), replace_original=False))
            return
        except (SlackClientError, OSError) as exc:
            logger.warning("sharing %s failed: %s", card.concept.id, exc)
            respond(
                **ephemeral(
                    render_notice(Notice(SLACK_UNREACHABLE, error=True)), replace_original=False
                )
            )
            return
        respond(
            **ephemeral(
                render_notice(Notice(f"Shared “{card.concept.title}” in the channel.")),
                replace_original=False,
            )
        )

    app.action(matching(OPEN_CONCEPT))(ack=ack_only, lazy=[open_concept])
    app.action(matching(SHARE_CONCEPT))(ack=ack_only, lazy=[share_concept])
