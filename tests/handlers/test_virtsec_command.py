"""`/virtsec` over real HTTP: signed requests in, what the user sees out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SlackClient, validate_blocks

Serve = Callable[..., SlackClient]


def ack_of(client: SlackClient, text: str, **kwargs: Any) -> dict[str, Any]:
    reply = client.command(text, **kwargs)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"]
    validate_blocks(body["blocks"])
    return dict(body)


def buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_lookup_answers_privately_with_the_concept_card(serve: Serve) -> None:
    body = ack_of(serve(), "what is VM escape")
    assert body["text"].startswith("VM escape: ")
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "VM escape", "emoji": True},
    }
    flat = json.dumps(body["blocks"])
    assert "Exam tip:" in flat and "Sources:" in flat
    share = [b for b in buttons(body) if b["action_id"].split(":")[0] == "concept_share"]
    assert share and share[0]["value"] == "vm-escape"
    related = [b["value"] for b in buttons(body) if b["action_id"].split(":")[0] == "concept_open"]
    assert related  # related concepts as buttons


def test_no_good_match_is_honest_and_offers_did_you_mean(serve: Serve) -> None:
    client = serve()
    body = ack_of(client, "what is a SQL join")
    assert body["text"].startswith("No good match for “what is a SQL join”")
    body = ack_of(client, "security")
    assert "No good match" in body["text"]
    kinds = [b["action_id"].split(":")[0] for b in buttons(body)]
    assert kinds[:-1] and set(kinds[:-1]) == {"lookup_pick"} and kinds[-1] == "lookup_none"


def test_user_text_is_escaped_so_nobody_is_pinged(serve: Serve) -> None:
    body = ack_of(serve(), "<!channel> <@U999> & <https://evil.example|click> zzqx")
    flat = json.dumps(body)
    assert "<!channel>" not in flat and "<@U999>" not in flat and "<https://" not in flat
    assert "&lt;!channel&gt;" in flat and "&amp;" in flat


def test_long_control_and_emoji_queries_get_a_normal_reply(serve: Serve) -> None:
    client = serve()
    for text in (
        "x" * 10_000,
        "\x00\x07\x1b[31m what is vm escape",
        "\U0001f525\U0001f480",
        "vm escape \U0001f914",
    ):
        body = ack_of(client, text)
        assert len(json.dumps(body)) < 40_000
    assert ack_of(client, "vm escape \U0001f914")["text"].startswith("VM escape")


def test_empty_text_and_help_show_usage(serve: Serve) -> None:
    client = serve()
    for text in ("", "help"):
        body = ack_of(client, text)
        assert "/virtsec leaderboard" in json.dumps(body["blocks"])


def test_bad_arguments_get_a_clear_error(serve: Serve) -> None:
    body = ack_of(serve(), "leaderboard yesterday")
    assert "Unknown period" in body["text"]


def test_topics_tip_scenario_and_comparison(serve: Serve) -> None:
    client = serve()
    topics = ack_of(client, "topics")
    assert topics["text"] == "Topics"
    assert "*containers* (" in json.dumps(topics["blocks"])
    assert ack_of(client, "topics kubernetes")["text"] == "Topics: kubernetes"
    assert ack_of(client, "tip")["text"].startswith("Exam tip: ")
    assert ack_of(client, "scenario case-virtualization-security")["text"].startswith("Scenario: ")
    body = ack_of(client, "difference between type 1 and type 2 hypervisors")
    assert body["text"].startswith("Type 1 vs type 2 hypervisor")


def test_admin_commands_are_refused_to_non_admins(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.set_user("U1", is_admin=False)
    assert "Only virtsec admins" in ack_of(client, "post", user="U1")["text"]
    fake_slack.set_user("U2", is_admin=True)
    assert ack_of(client, "daily", user="U2")["text"].startswith("No daily question")
    assert "no daily question to stop" in ack_of(client, "daily off", user="U2")["text"]
    assert [c.args["user"] for c in fake_slack.calls_to("users.info")][:2] == ["U1", "U2"]


def test_configured_admins_need_no_slack_lookup(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve(admins=("U7",))
    assert "no daily question to stop" in ack_of(client, "daily off", user="U7")["text"]
    assert "Only virtsec admins" in ack_of(client, "daily off", user="U8")["text"]
    assert fake_slack.calls_to("users.info") == []


def test_slack_failing_during_an_admin_check_gives_a_polite_message(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.fail_next("users.info", status=500, times=5)
    body = ack_of(client, "reload")
    assert "couldn't reach Slack" in body["text"]


def test_forged_signature_is_refused_without_side_effects(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.clear()
    reply = client.command("post", signature="v0=" + "0" * 64)
    assert reply.status == 401
    client.secret = "not-the-real-secret"
    assert client.command("what is vm escape").status == 401
    assert fake_slack.calls == []


def test_stale_timestamp_is_refused(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.clear()
    reply = client.command("what is vm escape", timestamp=int(time.time()) - 6 * 60)
    assert reply.status == 401
    assert fake_slack.calls == []


def test_the_app_checks_its_token_with_auth_test(serve: Serve, fake_slack: FakeSlack) -> None:
    serve()
    assert len(fake_slack.calls_to("auth.test")) >= 1
