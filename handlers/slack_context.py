"""Small Slack-side helpers the listeners share: who is an admin, ephemeral replies."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Settings
from bot.services import Caller, may_administer

logger = logging.getLogger(__name__)

SLACK_UNREACHABLE = ("Sorry, I couldn't reach Slack just now to finish that. "
                     "Please try again in a minute.")


class SlackUnavailable(Exception):
    """Slack's Web API failed (5xx, refused connection, time-out) while serving a request."""


def is_admin(client: WebClient, settings: Settings, user_id: str) -> bool:
    """VIRTSEC_ADMINS when set, otherwise Slack's workspace admins and owners."""

    def workspace_admin() -> bool:
        try:
            user = client.users_info(user=user_id)["user"]
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning("users.info failed for %s: %s", user_id, exc)
            raise SlackUnavailable from exc
        return bool(user.get("is_admin") or user.get("is_owner"))

    return may_administer(user_id, settings.admins, workspace_admin)


def user_timezone(client: WebClient, user_id: str) -> str | None:
    """The person's Slack time zone (users.info `tz`), or None when Slack doesn't say."""
    try:
        tz = client.users_info(user=user_id)["user"].get("tz")
    except (SlackApiError, SlackClientError, OSError) as exc:
        logger.warning("users.info failed for %s: %s", user_id, exc)
        raise SlackUnavailable from exc
    return str(tz) if tz else None


def caller_from(body: dict[str, Any]) -> Caller:
    """Who clicked, and where, from an interaction payload."""
    user = body.get("user", {})
    team_id = body.get("team", {}).get("id") or user.get("team_id", "")
    channel = body.get("channel", {}).get("id") or body.get("container", {}).get(
        "channel_id", "")
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
