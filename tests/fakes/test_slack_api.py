"""The fake Slack Web API, exercised with the real slack_sdk clients over loopback HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from urllib.error import URLError
from urllib.request import urlopen

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, TEAM_ID, FakeSlack

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Q1* What is a hypervisor?"}}]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A running fake, stopped after the test."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    """A real WebClient pointed at the fake."""
    return WebClient(token="xoxb-test", base_url=slack.base_url)


def test_base_url_has_trailing_slash_and_response_url_same_server(slack: FakeSlack) -> None:
    assert slack.base_url.startswith("http://127.0.0.1:")
    assert slack.base_url.endswith("/api/")
    assert slack.response_url("r1").startswith(slack.base_url.removesuffix("api/"))


def test_auth_test_identifies_the_bot(slack: FakeSlack, client: WebClient) -> None:
    response = client.auth_test()

    assert response["ok"] is True
    assert (response["team_id"], response["user_id"], response["bot_id"]) == (
        TEAM_ID,
        BOT_USER_ID,
        BOT_ID,
    )
    assert response["bot_user_id"] == BOT_USER_ID
    [call] = slack.calls_to("auth.test")
    assert call.headers["authorization"] == "Bearer xoxb-test"


def test_post_message_returns_unique_increasing_ts_and_is_recorded(
    slack: FakeSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C1", text="Question 1", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C1", text="Question 2")

    assert first["channel"] == "C1"
    assert first["message"]["text"] == "Question 1"
    assert first["message"]["blocks"] == BLOCKS
    assert float(second["ts"]) > float(first["ts"])
    assert first["ts"].count(".") == 1 and len(first["ts"].split(".")[1]) == 6
    calls = slack.calls_to("chat.postMessage")
    assert [c.args["text"] for c in calls] == ["Question 1", "Question 2"]
    assert calls[0].args["blocks"] == BLOCKS
    assert calls[0].headers["content-type"].startswith("application/json")


def test_update_changes_a_posted_message(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="before")

    updated = client.chat_update(channel="C1", ts=posted["ts"], text="after", blocks=BLOCKS)

    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", posted["ts"], "after")
    assert updated["message"]["blocks"] == BLOCKS


def test_update_of_unknown_ts_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1600000000.000001", text="nope")

    assert raised.value.response["error"] == "message_not_found"


def test_ephemeral_message_cannot_be_updated(client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["message_ts"]

    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts=ephemeral["message_ts"], text="edit")

    assert raised.value.response["error"] == "message_not_found"


def test_users_info_reflects_set_user(slack: FakeSlack, client: WebClient) -> None:
    slack.set_user("UADMIN", is_admin=True, tz="Europe/Paris")

    admin = client.users_info(user="UADMIN")["user"]
    other = client.users_info(user="UOTHER")["user"]

    assert (admin["id"], admin["is_admin"], admin["is_owner"], admin["tz"]) == (
        "UADMIN",
        True,
        False,
        "Europe/Paris",
    )
    assert admin["tz_offset"] in (3600, 7200)
    assert (other["is_admin"], other["is_owner"], other["tz"]) == (False, False, "UTC")
    # slack_sdk sends users.info form-encoded, not as JSON
    [call, _] = slack.calls_to("users.info")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.args["user"] == "UADMIN"


def test_form_encoded_json_fields_and_query_strings_are_parsed(
    slack: FakeSlack, client: WebClient
) -> None:
    client.api_call(
        "chat.postMessage", params={"channel": "C2", "text": "form", "blocks": json.dumps(BLOCKS)}
    )
    with urlopen(f"{slack.base_url}auth.test?token=xoxb-query") as raw:
        assert json.load(raw)["ok"] is True

    [form_call] = slack.calls_to("chat.postMessage")
    assert form_call.args == {"channel": "C2", "text": "form", "blocks": BLOCKS}
    [query_call] = slack.calls_to("auth.test")
    assert query_call.args == {"token": "xoxb-query"}


def test_views_publish_returns_a_view_id(client: WebClient) -> None:
    view = {"type": "home", "blocks": BLOCKS}

    response = client.views_publish(user_id="U1", view=view)

    assert response["view"]["id"].startswith("V")
    assert response["view"]["blocks"] == BLOCKS


def test_unknown_method_is_an_error(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("reactions.add", json={"channel": "C1", "name": "tada"})

    assert raised.value.response["error"] == "unknown_method"


def test_missing_token_is_not_authed(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.base_url).chat_postMessage(channel="C1", text="hi")

    assert raised.value.response["error"] == "not_authed"
    assert len(slack.calls_to("chat.postMessage")) == 1  # recorded all the same


def test_malformed_token_is_invalid_auth(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(token="not-a-token", base_url=slack.base_url).auth_test()

    assert raised.value.response["error"] == "invalid_auth"


def test_response_url_records_webhook_posts_by_name(slack: FakeSlack) -> None:
    first = WebhookClient(slack.response_url()).send(text="Correct!", response_type="ephemeral")
    WebhookClient(slack.response_url("other")).send_dict({"text": "elsewhere"})

    assert first.status_code == 200
    assert slack.responses() == [{"text": "Correct!", "response_type": "ephemeral"}]
    assert slack.responses("other") == [{"text": "elsewhere"}]
    assert slack.calls == []  # response_url posts are not Web API calls


def test_response_url_refuses_a_sixth_use(slack: FakeSlack) -> None:
    hook = WebhookClient(slack.response_url("r"))
    statuses = [hook.send(text=f"reply {i}").status_code for i in range(6)]

    assert statuses == [200] * 5 + [404]
    assert len(slack.responses("r")) == 5


def test_rate_limit_is_retried_after_retry_after(slack: FakeSlack, client: WebClient) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    response = client.chat_postMessage(channel="C1", text="eventually")

    assert response["ok"] is True
    assert time.monotonic() - started >= 1.0  # the handler honoured Retry-After
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_rate_limit_without_retry_handler_surfaces_429(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="too fast")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="later")["ok"] is True


def test_calls_over_slacks_rate_limits_are_answered_429(
    client: WebClient, slack: FakeSlack
) -> None:
    # chat.postMessage: a burst of 4 in one channel, then about one a second
    for n in range(4):
        client.chat_postMessage(channel="C1", text=f"burst {n}")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="one too many")
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert int(raised.value.response.headers["Retry-After"]) >= 1
    assert client.chat_postMessage(channel="C2", text="another channel")["ok"] is True
    other = WebClient(token="xoxb-another-workspace", base_url=slack.base_url)
    assert other.chat_postMessage(channel="C1", text="another workspace")["ok"] is True
    assert slack.rate_limited == ["chat.postMessage (C1)"]
    time.sleep(1.05)
    assert client.chat_postMessage(channel="C1", text="a second later")["ok"] is True


def test_server_errors_for_the_next_n_calls_only(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("users.info", status=500, times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.users_info(user="U1")
        assert raised.value.response.status_code == 500
        assert raised.value.response["error"] == "internal_error"
    assert client.users_info(user="U1")["ok"] is True
    assert client.auth_test()["ok"] is True  # other methods were never affected


def test_stopped_fake_refuses_connections(slack: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url, retry_handlers=[])
    slack.stop()
    slack.stop()  # idempotent

    with pytest.raises(URLError):
        client.auth_test()


def test_wait_for_wakes_on_a_call_from_another_thread(slack: FakeSlack, client: WebClient) -> None:
    poster = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="bg"))
    poster.start()
    try:
        assert slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) == 1)
    finally:
        poster.join()


def test_wait_for_times_out_with_false(slack: FakeSlack) -> None:
    assert slack.wait_for(lambda: bool(slack.calls), timeout=0.05) is False


def test_clear_forgets_calls_responses_and_messages(slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x")
    WebhookClient(slack.response_url()).send(text="y")

    slack.clear()

    assert slack.calls == [] and slack.responses() == []
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C1", ts=posted["ts"], text="z")


def test_server_is_quiet(
    slack: FakeSlack, client: WebClient, capfd: pytest.CaptureFixture[str]
) -> None:
    client.auth_test()
    slack.fail_next("auth.test", status=500)
    with pytest.raises(SlackApiError):
        client.auth_test()
    WebhookClient(slack.response_url()).send(text="y")

    assert capfd.readouterr().err == ""


def test_oauth_install_gives_each_workspace_its_own_token_once(slack: FakeSlack) -> None:
    slack.register_app("111.222", "app-secret")
    anonymous = WebClient(base_url=slack.base_url)
    code = slack.authorize("TALPHA")
    granted = anonymous.oauth_v2_access(client_id="111.222", client_secret="app-secret", code=code)
    token = granted["access_token"]
    assert granted["team"]["id"] == "TALPHA" and token.startswith("xoxb-")
    assert granted["authed_user"]["id"] == "UINSTALLER" and "refresh_token" not in granted.data
    for client_secret, used_code, error in [
        ("app-secret", code, "invalid_code"),  # a code works once
        ("wrong", slack.authorize("TALPHA"), "bad_client_secret"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            anonymous.oauth_v2_access(
                client_id="111.222", client_secret=client_secret, code=used_code
            )
        assert raised.value.response["error"] == error
    whoami = WebClient(token=token, base_url=slack.base_url).auth_test()
    assert whoami["team_id"] == "TALPHA" and slack.team_of(token) == "TALPHA"


def test_rotated_tokens_expire_and_are_refreshed_once(slack: FakeSlack) -> None:
    slack.register_app("111.222", "app-secret", rotation=True)
    anonymous = WebClient(base_url=slack.base_url)
    first = anonymous.oauth_v2_access(
        client_id="111.222", client_secret="app-secret", code=slack.authorize("TBETA")
    )
    assert first["expires_in"] == 43200 and first["refresh_token"].startswith("xoxe-")
    slack.expire(first["access_token"])
    with pytest.raises(SlackApiError) as raised:
        WebClient(token=first["access_token"], base_url=slack.base_url).auth_test()
    assert raised.value.response["error"] == "token_expired"
    refreshed = anonymous.oauth_v2_access(
        client_id="111.222",
        client_secret="app-secret",
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert refreshed["access_token"] != first["access_token"]
    assert (
        WebClient(token=refreshed["access_token"], base_url=slack.base_url).auth_test()["team_id"]
        == "TBETA"
    )
    with pytest.raises(SlackApiError):  # a refresh token works once
        anonymous.oauth_v2_access(
            client_id="111.222",
            client_secret="app-secret",
            grant_type="refresh_token",
            refresh_token=first["refresh_token"],
        )
