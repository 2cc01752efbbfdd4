"""Buttons, App Home and Events API redeliveries, over real HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SlackClient, validate_blocks

Serve = Callable[..., SlackClient]


def test_share_posts_the_card_in_the_channel_naming_who_shared(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    assert client.click("concept_share", "vm-escape", user="U5", channel="C9").status == 200
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 1
    assert posts[0].args["channel"] == "C9"
    assert posts[0].args["text"].startswith("VM escape: ")
    blocks = posts[0].args["blocks"]
    validate_blocks(blocks)
    assert "<@U5> shared this" in json.dumps(blocks)
    assert "concept_share" not in json.dumps(blocks)  # no share button in the channel copy
    confirmation = fake_slack.responses("click")[0]
    assert confirmation["text"] == "Shared “VM escape” in the channel."
    assert confirmation["response_type"] == "ephemeral"


def test_share_is_retried_when_slack_rate_limits(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    client.click("concept_share", "hypervisor")
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1, timeout=10)
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert fake_slack.responses("click")[0]["text"].startswith("Shared")


def test_share_when_slack_errors_tells_the_user_politely(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.fail_next("chat.postMessage", status=500, times=5)
    client.click("concept_share", "hypervisor")
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1, timeout=10)
    assert "couldn't reach Slack" in fake_slack.responses("click")[0]["text"]
    # a 500 may come after the card was posted: it is not sent again
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_share_when_slack_is_unreachable_tells_the_user_politely(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    with FakeSlack() as responder:  # response_url keeps working; the Web API is gone
        fake_slack.stop()
        client.click("concept_share", "hypervisor", response_url=responder.response_url("r"))
        assert responder.wait_for(lambda: len(responder.responses("r")) == 1, timeout=15)
        assert "couldn't reach Slack" in responder.responses("r")[0]["text"]


def test_opening_a_related_concept_replaces_the_private_card(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    client.click("concept_open", "hypervisor")
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    reply = fake_slack.responses("click")[0]
    assert reply["replace_original"] is True
    assert reply["text"].startswith("Hypervisor")
    validate_blocks(reply["blocks"])
    # clicked on a message in the channel: answer privately, leave the message alone
    client.click("concept_open", "hypervisor", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 2)
    assert fake_slack.responses("click")[1]["replace_original"] is False


def test_forged_concept_value_gets_a_polite_notice(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    client.click("concept_share", "../../etc/passwd")
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    assert "no longer in the knowledge base" in fake_slack.responses("click")[0]["text"]
    assert fake_slack.calls_to("chat.postMessage") == []


def test_practice_question_answer_and_next(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    body = client.command("quiz").json()
    validate_blocks(body["blocks"])
    answers = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert all(e["action_id"].split(":")[0] == "practice_answer" for e in answers)
    assert 2 <= len(answers) <= 5
    client.click(answers[0]["action_id"], answers[0]["value"])
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    outcome = fake_slack.responses("click")[0]
    validate_blocks(outcome["blocks"])
    assert outcome["replace_original"] is True
    assert outcome["text"].startswith(("Correct!", "Not quite"))
    question_id = answers[0]["value"].split("|")[0]
    client.click("practice_next", question_id)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 2)
    assert fake_slack.responses("click")[1]["text"].startswith("Practice question:")
    stats = client.command("stats").json()
    validate_blocks(stats["blocks"])
    assert "Mastery per concept" in json.dumps(stats["blocks"])
    assert "Practice:* 1 answered" in json.dumps(stats["blocks"])


def test_forged_practice_values_change_nothing(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    for value in ("no-such-question|0", "q-vm-escape-1|9", "garbage", ""):
        client.click("practice_answer", value)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 4)
    assert all("no longer available" in r["text"] for r in fake_slack.responses("click"))


def test_app_home_is_published_once_even_when_slack_redelivers(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    event = {
        "type": "app_home_opened",
        "user": "U3",
        "channel": "D3",
        "tab": "home",
        "event_ts": "1700000000.1",
    }
    assert client.event(event, "Ev001").status == 200
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 1)
    assert client.event(event, "Ev001", retry=1).status == 200
    assert client.event(event, "Ev002").status == 200  # a new opening is a new event
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 2)
    publishes = fake_slack.calls_to("views.publish")
    assert [c.args["user_id"] for c in publishes] == ["U3", "U3"]
    view = publishes[0].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    validate_blocks(view["blocks"])


def test_url_verification_is_answered(serve: Serve) -> None:
    client = serve()
    reply = client.post(
        json.dumps({"type": "url_verification", "challenge": "abc123", "token": "legacy"}),
        "application/json",
    )
    assert reply.status == 200 and "abc123" in reply.body


def test_healthz_checks_the_database(serve: Serve, tmp_path: object) -> None:
    reply = serve().get("/healthz")
    assert reply.status == 200
    assert reply.json() == {"ok": True, "database": "ok"}
    broken = serve(database_url="sqlite:////nonexistent-dir/x/virtsec.db").get("/healthz")
    assert broken.status == 503 and broken.json() == {"ok": False, "database": "unreachable"}
    assert serve().get("/nope").status == 404


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1:1/db?password=S3cret&connect_timeout=1",
        "postgresql://:S3cret@127.0.0.1:1/db?connect_timeout=1",
        "postgresql://u:S3c@ret@127.0.0.1:1/db?connect_timeout=1",
    ],
)
def test_healthz_tells_nobody_the_database_password_or_address(
    serve: Serve, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        reply = serve(database_url=url).get("/healthz")
    assert reply.status == 503 and reply.json() == {"ok": False, "database": "unreachable"}
    assert "S3c" not in caplog.text and "ret@" not in caplog.text
    assert "does not answer" in caplog.text
