"""The app manifests ask for what the code uses, and nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import DEFAULT_SCOPES
from handlers.installations import REDIRECT_PATH

ROOT = Path(__file__).resolve().parent.parent.parent
SCOPES = {"commands", "chat:write", "chat:write.public", "users:read"}


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / name).read_text()))


@pytest.mark.parametrize("name", ["manifest.yml", "manifest.socket.yml"])
def test_manifest_declares_the_command_events_and_minimal_scopes(name: str) -> None:
    m = load(name)
    assert set(m["oauth_config"]["scopes"]["bot"]) == SCOPES
    assert [c["command"] for c in m["features"]["slash_commands"]] == ["/virtsec"]
    assert m["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    # read-only has no meaning for a messages tab that is off, and Slack ignores it
    home = m["features"]["app_home"]
    assert home["messages_tab_enabled"] or "messages_tab_read_only_enabled" not in home


def test_http_manifest_points_every_url_at_slack_events() -> None:
    m = load("manifest.yml")
    urls = [
        m["features"]["slash_commands"][0]["url"],
        m["settings"]["event_subscriptions"]["request_url"],
        m["settings"]["interactivity"]["request_url"],
    ]
    assert all(u == "https://HOST/slack/events" for u in urls)
    assert m["settings"]["socket_mode_enabled"] is False


def test_oauth_mode_asks_for_the_manifests_scopes_and_returns_to_its_redirect_url() -> None:
    m = load("manifest.yml")
    assert set(DEFAULT_SCOPES) == set(m["oauth_config"]["scopes"]["bot"])
    assert m["oauth_config"]["redirect_urls"] == [f"https://HOST{REDIRECT_PATH}"]


def test_socket_manifest_has_no_urls() -> None:
    m = load("manifest.socket.yml")
    assert m["settings"]["socket_mode_enabled"] is True
    assert "url" not in m["features"]["slash_commands"][0]
    assert "request_url" not in m["settings"]["event_subscriptions"]
    assert "request_url" not in m["settings"]["interactivity"]


def test_the_code_uses_only_web_api_methods_the_scopes_allow() -> None:
    used = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        text = path.read_text()
        for method in (
            "chat_postMessage",
            "chat_postEphemeral",
            "chat_update",
            "users_info",
            "views_publish",
            "conversations_",
            "reactions_",
        ):
            if method in text:
                used.add(method)
    assert used <= {
        "chat_postMessage",
        "chat_postEphemeral",
        "chat_update",
        "users_info",
        "views_publish",
    }
