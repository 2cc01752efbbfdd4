"""Front-door fixtures: the app's WSGI server on loopback, a fake Slack, signed requests."""

from __future__ import annotations

import itertools
import json
import socketserver
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine

from bot import knowledge_base
from bot.config import Settings
from bot.library import Library
from bot.storage.db import make_engine, ping
from bot.storage.migrate import upgrade
from handlers.app import SlackApp, build
from handlers.wsgi import make_wsgi_app
from tests.fakes import block_kit
from tests.fakes.slack_api import TEAM_ID, FakeSlack

SIGNING_SECRET = "test-signing-secret"


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # 100 people clicking at once must not overflow the backlog


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Reply:
    """What the app answered over HTTP."""

    status: int
    body: str

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def validate_blocks(blocks: list[dict[str, Any]]) -> None:
    """Every block must parse and validate with slack_sdk's models (Slack's limits)."""
    assert len(blocks) <= 50
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()


_TRIGGERS = itertools.count(1)


def next_trigger_id() -> str:
    """A trigger_id in Slack's shape, new each time."""
    return f"{int(time.time())}.{next(_TRIGGERS)}.0abc"


@dataclass
class SlackClient:
    """Sends correctly signed Slack requests to the app over real HTTP."""

    url: str
    slack: FakeSlack
    secret: str = SIGNING_SECRET
    acks: list[Reply] = field(default_factory=list)

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST a raw body to /slack/events, signed unless a signature is given."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or SignatureVerifier(self.secret).generate_signature(
            timestamp=ts, body=body
        )
        request = urllib.request.Request(
            self.url + "/slack/events",
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sig,
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                reply = Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            reply = Reply(err.code, err.read().decode())
        self.acks.append(reply)
        if reply.body.startswith("{"):  # an ack with a message: Slack checks it as it would
            message = json.loads(reply.body)
            assert block_kit.problems(message.get("blocks")) == [], message
        return reply

    def command(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        response_url: str | None = None,
        team: str = TEAM_ID,
        trigger_id: str | None = None,
        **kwargs: Any,
    ) -> Reply:
        """A `/virtsec` slash command (with a new trigger_id, as each one Slack sends)."""
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "virtsec-test",
            "channel_id": channel,
            "channel_name": "study",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/virtsec",
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": response_url or self.slack.response_url("cmd"),
            "trigger_id": trigger_id or next_trigger_id(),
        }
        return self.post(
            urllib.parse.urlencode(form), "application/x-www-form-urlencoded", **kwargs
        )

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        ephemeral: bool = True,
        response_url: str | None = None,
        home: bool = False,
        team: str = TEAM_ID,
    ) -> Reply:
        """A button click (block_actions); `home=True` clicks it on the App Home tab."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": "virtsec-test"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0APP",
            "trigger_id": "1.2.3",
            "container": {
                "type": "message",
                "message_ts": "1700000000.000001",
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "channel": {"id": channel, "name": "study"},
            "response_url": response_url or self.slack.response_url("click"),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b1",
                    "value": value,
                    "text": {"type": "plain_text", "text": "x"},
                    "action_ts": "1700000001.000001",
                }
            ],
        }
        if not ephemeral:
            payload["message"] = {"ts": "1700000000.000001", "text": "x", "blocks": []}
        if home:  # Home tab: a view container, no channel, no response_url
            payload["container"] = {"type": "view", "view_id": "V0HOME"}
            payload["view"] = {"id": "V0HOME", "type": "home", "blocks": []}
            for key in ("channel", "response_url", "message"):
                payload.pop(key, None)
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def event(
        self,
        event: dict[str, Any],
        event_id: str,
        retry: int | None = None,
        *,
        team: str = TEAM_ID,
    ) -> Reply:
        """An Events API callback, optionally marked as Slack's redelivery."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": event,
            }
        )
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else None
        )
        return self.post(body, "application/json", headers=headers)

    def get(self, path: str) -> Reply:
        """A plain GET (health checks)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:
                return Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode())


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled knowledge base, as the app serves it."""
    return Library(lambda: knowledge_base.load([knowledge_base.bundled_knowledge_dir()]))


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API on loopback; the test fails if the app sent it a message or view
    that real Slack would refuse, or went over Slack's rate limits."""
    with FakeSlack() as slack:
        yield slack
        assert slack.refusals == []
        assert slack.rate_limited == []  # the app kept to Slack's rate limits


def settings_for(slack: FakeSlack, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing the app at the fake Slack and a SQLite file."""
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.base_url,
        "response_url_hosts": ("127.0.0.1",),  # the fake Slack's response_urls
        "database_url": f"sqlite:///{tmp_path}/virtsec.db",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def serve(
    fake_slack: FakeSlack,
    library: Library,
    tmp_path: Path,
    running_apps: list[Callable[[], object]],
) -> Iterator[Any]:
    """Start the app's WSGI server on a free loopback port; returns a factory of clients."""
    servers: list[_ThreadingWSGIServer] = []
    threads: list[threading.Thread] = []
    apps: list[SlackApp] = []
    engines: list[Engine] = []

    def start(
        engine: Engine | None = None, *, knowledge: Library | None = None, **overrides: Any
    ) -> SlackClient:
        if engine is not None:  # a migrated test database (SQLite or PostgreSQL)
            overrides["database_url"] = engine.url.render_as_string(hide_password=False)
        settings = settings_for(fake_slack, tmp_path, **overrides)
        if engine is not None:
            # the test's database fixture may be torn down before this one: the app's last
            # background work can still open connections, which this teardown closes
            engines.append(engine)
        else:
            engine = make_engine(settings.database_url)
            if ping(engine)[0]:
                upgrade(engine)
            engines.append(engine)
        slack_app = build(settings, knowledge or library, engine=engine)
        apps.append(slack_app)
        running_apps.append(slack_app.close)  # stopped before a test database goes
        app = make_wsgi_app(slack_app.app, lambda: ping(engine), settings.slack_signing_secret)
        server = make_server(
            "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        servers.append(server)
        threads.append(thread)
        return SlackClient(f"http://127.0.0.1:{server.server_port}", fake_slack)

    yield start
    for slack_app in apps:  # no background work or open connection outlives the test
        assert slack_app.close()
    for engine in engines:
        engine.dispose()
    for server in servers:
        server.shutdown()
        server.server_close()
    for thread in threads:
        thread.join(timeout=5)
