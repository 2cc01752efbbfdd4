"""Small Slack-side helpers the listeners share: who is an admin, ephemeral replies."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.config import Settings
from bot.core import may_administer
from bot.results import Caller
from handlers.slack_users import Directory

logger = logging.getLogger(__name__)

SLACK_UNREACHABLE = (
    "Sorry, I couldn't reach Slack just now to finish that. Please try again in a minute."
)


class SlackUser:
    """One person as Slack describes them (users.info through the Directory: cached, and
    one short try before an ack)."""

    def __init__(self, directory: Directory, client: WebClient, team_id: str, user_id: str):
        self.directory = directory
        self.client = client
        self.team_id = team_id
        self.user_id = user_id

    def info(self) -> dict[str, Any]:
        """users.info's `user`; SlackUnavailable when Slack does not answer in time."""
        return self.directory.info(self.client, self.team_id, self.user_id)


def is_admin(user: SlackUser, settings: Settings) -> bool:
    """VIRTSEC_ADMINS when set, otherwise Slack's workspace admins and owners (in OAuth
    mode: each workspace's admins and owners, plus its TEAM_ID:USER_ID entries)."""

    def workspace_admin() -> bool:
        info = user.info()
        # an admin of this workspace: not of a partner's, met in a Slack Connect channel
        of_here = info.get("team_id") in (None, user.team_id)
        return of_here and bool(info.get("is_admin") or info.get("is_owner"))

    return may_administer(
        user.team_id, user.user_id, settings.admins, workspace_admin, per_workspace=settings.oauth
    )


def user_timezone(user: SlackUser) -> str | None:
    """The person's Slack time zone (users.info `tz`), or None when Slack doesn't say."""
    tz = user.info().get("tz")
    return str(tz) if tz else None


def caller_from(body: dict[str, Any]) -> Caller:
    """Who clicked, and where, from an interaction payload."""
    user = body.get("user", {})
    team_id = body.get("team", {}).get("id") or user.get("team_id", "")
    channel = body.get("channel", {}).get("id") or body.get("container", {}).get("channel_id", "")
    return Caller(team_id, user.get("id", ""), channel)


def ack_only(ack: Ack) -> None:
    """Acknowledge at once; the listener's lazy functions do the work afterwards."""
    ack()


def ephemeral(rendered: tuple[str, list[dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ack()/respond() showing a reply only to the caller."""
    text, blocks = rendered
    return {"response_type": "ephemeral", "text": text, "blocks": blocks, **extra}


def from_ephemeral(body: dict[str, Any]) -> bool:
    """True when a button was clicked on an ephemeral message (which we may replace)."""
    return bool(body.get("container", {}).get("is_ephemeral"))
