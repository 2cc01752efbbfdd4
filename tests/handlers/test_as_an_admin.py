"""Issue: real Slack accepts every message, and the app does what it says, tried as a new
admin and a new user would: signed requests over HTTP, the strict fake Slack on loopback."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.library import Library
from bot.storage.tables import Subscription
from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SlackClient
from tests.handlers.test_daily_slack import answer_buttons, count_rows, db_url, post_question

Serve = Callable[..., SlackClient]


def reply_to(fake_slack: FakeSlack, name: str = "cmd") -> str:
    """The text of the first reply at a response_url (after "Working on it…")."""
    assert fake_slack.wait_for(lambda: fake_slack.responses(name) != [])
    return str(fake_slack.responses(name)[0]["text"])


def test_daily_on_posts_a_confirmation_in_the_channel(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    ack = client.command("daily on 09:00 UTC everyday", user="UADMIN", channel="C7")
    assert ack.json()["text"] == "Working on it…"
    assert reply_to(fake_slack).startswith("Daily question on: 09:00 UTC, every day")
    (posted,) = [c.args for c in fake_slack.calls_to("chat.postMessage")]
    assert posted["channel"] == "C7"
    assert posted["text"].startswith("Daily practice question on: 09:00 UTC, every day")
    assert "<@UADMIN> turned on the daily practice question" in json.dumps(posted["blocks"])
    assert count_rows(db_url(tmp_path), Subscription) == 1


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
def test_daily_on_where_the_bot_cannot_post_subscribes_nothing(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path, error: str
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    fake_slack.close_channel("CPRIVATE", error)
    client.command("daily on 09:00 UTC", user="UADMIN", channel="CPRIVATE")
    text = reply_to(fake_slack)
    assert "I can't post in this channel" in text
    assert ("archived" if error == "is_archived" else "/invite @virtsec") in text
    assert count_rows(db_url(tmp_path), Subscription) == 0
    status = client.command("daily", user="UADMIN", channel="CPRIVATE").json()["text"]
    assert status.startswith("No daily question in this channel")


def test_daily_on_in_a_direct_message_is_refused(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    client.command("daily on 09:00 UTC", user="UADMIN", channel="D0DIRECT")
    assert "direct message" in reply_to(fake_slack)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert count_rows(db_url(tmp_path), Subscription) == 0


def test_a_failed_manual_post_is_reported_to_the_admin(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    fake_slack.close_channel("C9")
    client.command("post", user="UADMIN", channel="C9")
    assert "couldn't post the question" in reply_to(fake_slack)


def test_the_ack_comes_within_a_second_when_slack_rate_limits_the_admin_check(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.fail_next("users.info", status=429, retry_after=5)
    started = time.monotonic()
    ack = client.command("post", user="UADMIN")
    assert time.monotonic() - started < 1.5
    assert "couldn't reach Slack" in ack.json()["text"]
    # nothing is posted afterwards either
    assert not fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage") != [], 0.5)


def test_the_admin_check_is_cached_for_a_few_minutes(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    for _ in range(3):
        assert client.command("daily", user="UADMIN").status == 200
        client.command("weekly on", user="UADMIN")
    assert len(fake_slack.calls_to("users.info")) == 1


def test_a_request_from_another_workspace_is_refused_with_no_side_effect(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    client = serve(admins=("UADMIN",))
    reply = client.command("post", user="UADMIN", team="T0OTHER")
    assert reply.status == 200 and "another Slack workspace" in reply.body
    client.command("daily on 09:00 UTC", user="UADMIN", team="T0OTHER")
    assert not fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage") != [], 0.5)
    assert fake_slack.responses("cmd") == []
    assert count_rows(db_url(tmp_path), Subscription) == 0


def test_the_reveal_names_who_got_it_right_without_pinging_them(
    serve: Serve, fake_slack: FakeSlack, library: Library
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    first = post_question(client, fake_slack)
    (question,) = [q for q in library.kb.questions.values() if q.prompt in first["text"]]
    right = answer_buttons(first)[question.answer_index]
    for user in ("U1", "U2", "U3"):
        client.click(right["action_id"], right["value"], user=user, ephemeral=False)
    post_question(client, fake_slack)  # closes the first one, with the reveal in its thread
    assert fake_slack.wait_for(
        lambda: any(c.args.get("thread_ts") for c in fake_slack.calls_to("chat.postMessage"))
    )
    (reveal,) = [c.args for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    shown = json.dumps(reveal["blocks"])
    assert "Got it right (3 of 3):* user-u1, user-u2, user-u3" in shown
    assert "<@" not in shown  # named, not mentioned: nobody is notified


def test_a_forged_request_is_logged_without_its_body(
    serve: Serve, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve()
    calls_at_start = fake_slack.calls  # Bolt's auth.test when the app was built
    secret_url = fake_slack.response_url("attacker")
    form = {"command": "/virtsec", "text": "post", "response_url": secret_url, "team_id": "T0"}
    with caplog.at_level(logging.DEBUG):
        reply = client.post(
            urllib.parse.urlencode(form),
            "application/x-www-form-urlencoded",
            signature="v0=" + "0" * 64,
        )
    assert reply.status == 401
    assert "/response/attacker" not in caplog.text and "text=post" not in caplog.text
    assert "refused a request" in caplog.text
    assert fake_slack.responses("attacker") == [] and fake_slack.calls == calls_at_start


def test_study_on_the_home_tab_opens_the_concept_there(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    assert client.click("concept_open:0", "vm-escape", user="U4", home=True).status == 200
    assert fake_slack.wait_for(lambda: fake_slack.calls_to("views.publish") != [])
    view = fake_slack.calls_to("views.publish")[-1].args["view"]
    shown = json.dumps(view["blocks"])
    assert "VM escape" in shown and "Exam tip" in shown
    assert "concept_share" not in shown  # there is no channel to share into from Home
    assert fake_slack.responses("click") == []


def test_a_click_on_a_button_posted_before_the_numbering_still_counts(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    button = answer_buttons(post_question(client, fake_slack))[0]
    client.click("daily_answer", button["value"], user="U1", ephemeral=False)  # the old id
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    assert fake_slack.responses("click")[0]["text"].startswith(("Correct!", "Not this time"))


def test_daily_on_at_a_time_already_past_today_starts_tomorrow(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    client.command("daily on 00:00 UTC everyday", user="UADMIN")  # always past (or now)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert f"Next: {tomorrow:%a %d %b} 00:00 UTC" in reply_to(fake_slack)


def test_no_warning_about_an_unused_token_at_start(
    serve: Serve, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    with caplog.at_level(logging.WARNING):
        serve()
    assert "will be unused" not in caplog.text


def test_a_replayed_admin_command_acts_once(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve(admins=("UADMIN",))
    first = client.command("post", user="UADMIN", trigger_id="1700000000.1.replayed")
    assert first.json()["text"] == "Working on it…"
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])
    again = client.command("post", user="UADMIN", trigger_id="1700000000.1.replayed")
    assert again.json()["text"] == "That command was already carried out."
    assert not fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage")) > 1, 0.5)


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5", "9" * 40])
def test_a_malformed_timestamp_gets_401_and_nothing_is_sent_anywhere(
    serve: Serve, fake_slack: FakeSlack, timestamp: str
) -> None:
    client = serve()
    calls_at_start = fake_slack.calls
    body = urllib.parse.urlencode(
        {"command": "/virtsec", "text": "x", "response_url": fake_slack.response_url("ssrf")}
    ).encode()
    request = urllib.request.Request(
        client.url + "/slack/events",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 401
    assert not fake_slack.wait_for(lambda: fake_slack.responses("ssrf") != [], 0.5)
    assert fake_slack.calls == calls_at_start
