"""Replies to response_urls over kept-alive connections, against the fake Slack on loopback."""

from __future__ import annotations

import logging
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.response_url import Replies, ResponseUrlSender
from tests.fakes.slack_api import RESPONSE_URL_MAX_USES, FakeSlack


@pytest.fixture
def sender() -> Iterator[ResponseUrlSender]:
    sender = ResponseUrlSender(timeout=5)
    yield sender
    sender.close()


def test_replies_from_one_thread_share_one_connection(
    fake_slack: FakeSlack, sender: ResponseUrlSender
) -> None:
    respond = Replies(sender, ("127.0.0.1",)).to(fake_slack.response_url("r"))
    for n in range(3):
        assert respond(text=f"reply {n}", response_type="ephemeral").status_code == 200
    assert [r["text"] for r in fake_slack.responses("r")] == ["reply 0", "reply 1", "reply 2"]
    assert fake_slack.responses("r")[0]["response_type"] == "ephemeral"
    assert fake_slack.connections_accepted == 1


def test_each_thread_keeps_its_own_connection(
    fake_slack: FakeSlack, sender: ResponseUrlSender
) -> None:
    def replies(k: int) -> None:
        for n in range(2):
            sender.post(fake_slack.response_url(f"t{k}"), {"text": f"{k}.{n}"})

    threads = [threading.Thread(target=replies, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(fake_slack.responses(f"t{k}")) == 2 for k in range(4))
    assert fake_slack.connections_accepted == 4


def test_a_connection_slack_closed_while_idle_is_replaced_once(
    fake_slack: FakeSlack, sender: ResponseUrlSender
) -> None:
    url = fake_slack.response_url("idle")
    assert sender.post(url, {"text": "first"}).status_code == 200
    fake_slack.hang_up()
    assert sender.post(url, {"text": "second"}).status_code == 200
    assert [r["text"] for r in fake_slack.responses("idle")] == ["first", "second"]
    assert fake_slack.connections_accepted == 2


def test_a_refused_reply_is_logged_without_the_url(
    fake_slack: FakeSlack, sender: ResponseUrlSender, caplog: pytest.LogCaptureFixture
) -> None:
    url = fake_slack.response_url("spent")
    respond = Replies(sender, ("127.0.0.1",)).to(url)
    for _ in range(RESPONSE_URL_MAX_USES):
        assert respond(text="ok").status_code == 200
    with caplog.at_level(logging.WARNING, logger="handlers.response_url"):
        refused = respond(text="one too many")
    assert refused.status_code >= 400
    assert "Slack refused a response_url reply" in caplog.text
    assert url not in caplog.text and "/response/" not in caplog.text


def test_a_message_is_sent_as_given(fake_slack: FakeSlack, sender: ResponseUrlSender) -> None:
    respond = Replies(sender, ("127.0.0.1",)).to(fake_slack.response_url("d"))
    respond(
        text="hi",
        replace_original=False,
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    )
    (reply,) = fake_slack.responses("d")
    assert reply["replace_original"] is False and reply["blocks"][0]["type"] == "section"


def test_a_dead_endpoint_raises_for_the_caller_to_log(sender: ResponseUrlSender) -> None:
    with FakeSlack() as gone:
        url = gone.response_url("x")
    with pytest.raises(OSError):
        sender.post(url, {"text": "nobody is listening"})


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_over_tls_a_connection_dropped_without_goodbye_is_replaced(
    tls_files: tuple[Path, Path],
) -> None:
    # Slack's response_urls are https: a server that drops an idle TLS connection without
    # a close_notify must not cost the reply
    cert, key = tls_files
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    sender = ResponseUrlSender(timeout=5, ssl_context=ssl.create_default_context(cafile=str(cert)))
    try:
        with FakeSlack(tls=server_side) as slack:
            url = slack.response_url("tls")
            assert url.startswith("https://")
            assert sender.post(url, {"text": "first"}).status_code == 200
            assert sender.post(url, {"text": "second"}).status_code == 200
            assert slack.connections_accepted == 1  # kept alive over TLS
            slack.hang_up()
            assert sender.post(url, {"text": "third"}).status_code == 200
            assert [r["text"] for r in slack.responses("tls")] == ["first", "second", "third"]
            assert slack.connections_accepted == 2
    finally:
        sender.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://attacker.example/x",
        "https://hooks.slack.com.attacker.example/x",
        "https://user@attacker.example/hooks.slack.com",
        "file:///etc/passwd",
        "",
    ],
)
def test_replies_go_only_to_slacks_hosts(
    url: str, sender: ResponseUrlSender, caplog: pytest.LogCaptureFixture
) -> None:
    replies = Replies(sender, ("hooks.slack.com",))
    assert not replies.allowed(url)
    with caplog.at_level(logging.WARNING):
        assert replies.to(url)(text="hello") is None  # sent nowhere
    assert "a reply was not sent" in caplog.text
    assert replies.allowed("https://hooks.slack.com/commands/T1/1/abc")
    assert not replies.allowed("http://hooks.slack.com/commands/T1/1/abc")  # https only
