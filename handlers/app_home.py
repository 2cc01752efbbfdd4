"""The App Home tab, published when a user opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.assistant import Assistant
from handlers.blocks import render_home
from handlers.slack_context import ack_only


def register(app: App, assistant: Assistant) -> None:
    """Add the app_home_opened listener (acknowledged at once, published after)."""

    def publish(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=event["user"],
                             view={"type": "home", "blocks": render_home(assistant.kb.counts(),
                                                                         event["user"])})

    app.event("app_home_opened")(ack=ack_only, lazy=[publish])
