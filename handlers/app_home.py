"""The App Home dashboard: published when opened, after each answer, and for practice."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.coalescer import Coalescer
from bot.core import Core
from bot.results import Focus
from handlers.actions import HOME_PRACTICE, matching
from handlers.blocks.home import render_home
from handlers.slack_context import ack_only, caller_from
from handlers.web_api import SlackClients, clients_of

logger = logging.getLogger(__name__)


class HomePublisher:
    """Publishes a person's Home tab; refreshes after answers are coalesced per person."""

    def __init__(self, core: Core, clients: SlackClients | WebClient, interval: float = 5.0):
        self.core = core
        self.clients = clients_of(clients)
        self.refresher: Coalescer[tuple[str, str]] = Coalescer(
            "the Home tab of", interval, lambda key: self.publish(*key)
        )

    def answered(self, team_id: str, user_id: str) -> None:
        """Refresh a Home tab after an answer (coalesced), if the person uses it: only
        their tabs are refreshed, so a burst of clicks costs no unneeded publishes."""
        if self.core.progress.uses_dashboard(team_id, user_id):
            self.refresher.request((team_id, user_id))

    def opened(self, team_id: str, user_id: str) -> None:
        """The person opened the tab: remember it (their answers refresh it) and publish."""
        self.core.progress.saw_dashboard(team_id, user_id)
        self.publish(team_id, user_id)

    def publish(self, team_id: str, user_id: str, focus: Focus = None) -> None:
        """Build and publish the dashboard (errors are logged, never shown)."""
        blocks = render_home(self.core.progress.dashboard(team_id, user_id, focus))
        try:
            self.clients.for_team(team_id).views_publish(
                user_id=user_id, view={"type": "home", "blocks": blocks}
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning("views.publish for %s failed: %s", user_id, exc)


def register(app: App, core: Core, home: HomePublisher) -> None:
    """Add the Home tab listeners."""

    def opened(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") == "home" and context.team_id and context.user_id:
            home.opened(context.team_id, context.user_id)

    def practice(body: dict[str, Any], action: dict[str, Any]) -> None:
        caller = caller_from(body)
        concept = str(action.get("value", "*"))
        focus: Focus = (
            core.practice.next_question(caller)
            if concept == "*"
            else core.practice.question_on(caller, concept)
        )
        home.publish(caller.team_id, caller.user_id, focus)

    app.event("app_home_opened")(ack=ack_only, lazy=[opened])
    app.action(matching(HOME_PRACTICE))(ack=ack_only, lazy=[practice])


def answered_in_home(body: dict[str, Any]) -> bool:
    """True when a practice button was clicked on the Home tab (no response_url there)."""
    return bool(body.get("container", {}).get("type") == "view")
