"""A fake Slack Web API on loopback that answers like Slack and records what it was sent.

Point the app's client at it with ``WebClient(token="xoxb-...", base_url=slack.base_url)``
and put ``slack.response_url(name)`` into the slash-command or button payloads a test sends.

    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")[0].args["text"] == "hi"
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import socket
import socketserver
import ssl
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

from tests.fakes import block_kit

TEAM_ID = "T0TEST"
TEAM_NAME = "virtsec-test"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_NAME = "virtsec"

#: Slack lets an app use one response_url this many times (STYLE.md, "Facts that bite").
RESPONSE_URL_MAX_USES = 5

#: Slack's rate limits for the methods an app calls in bursts, per token (app and
#: workspace), method, and for chat.postMessage per channel: seconds between calls on
#: average, and how many may come at once. chat.update is Tier 3 (50 a minute),
#: views.publish Tier 4 (100 a minute), chat.postMessage one a second per channel with
#: short bursts. A call over them is answered HTTP 429 `ratelimited` with Retry-After.
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "chat.update": (1.2, 5),
    "views.publish": (0.6, 10),
    "chat.postMessage": (1.0, 4),
}

# Form-encoded fields that Slack decodes as JSON when they arrive as strings.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_FIRST_TS_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One Web API request as the fake received it (header names lower-cased)."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass
class _Failure:
    status: int
    retry_after: int
    remaining: int


@dataclass
class _UserInfo:
    is_admin: bool
    is_owner: bool
    tz: str


@dataclass(frozen=True)
class _Reply:
    status: int
    body: JsonDict
    headers: tuple[tuple[str, str], ...] = ()


def _ok(**fields: Any) -> _Reply:
    return _Reply(200, {"ok": True, **fields})


def _error(error: str, status: int = 200) -> _Reply:
    return _Reply(status, {"ok": False, "error": error})


class FakeSlack:
    """A fake Slack Web API and response_url endpoint on 127.0.0.1, in a daemon thread."""

    def __init__(self, tls: ssl.SSLContext | None = None, *, rate_limits: bool = True) -> None:
        """`tls`: a server-side context, to serve https:// as Slack does. `rate_limits`:
        answer calls over RATE_LIMITS with 429 (off only for a test whose fake clock
        compresses days into a second)."""
        self._tls = tls
        self._enforce_rate_limits = rate_limits
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._calls: list[Call] = []
        self._responses: dict[str, list[JsonDict]] = {}
        self._response_uses: dict[str, int] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._users: dict[str, _UserInfo] = {}
        self._messages: dict[tuple[str, str], JsonDict] = {}
        self._ts_counter = 0
        self._view_counter = 0
        self._refusals: list[str] = []
        self._closed_channels: dict[str, str] = {}
        self._buckets: dict[tuple[str, ...], float] = {}
        self._rate_limited: list[str] = []
        self._app: tuple[str, str] | None = None  # (client id, client secret)
        self._codes: dict[str, str] = {}  # OAuth code -> team id
        self._refresh: dict[str, str] = {}  # refresh token -> team id
        self._token_teams: dict[str, str] = {}  # bot token -> team id
        self._expired: set[str] = set()
        self._revoked: set[str] = set()
        self._team_names: dict[str, str] = {}
        self._org_codes: set[str] = set()
        self._refresh_seconds = 0.0
        self._scopes: set[str] = set()
        self._rotation = False
        self._issued = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Bind a fresh loopback port and serve on it; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"FakeSlack:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and join every thread; the URLs then refuse connections."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.hang_up()
        server.server_close()  # also joins the request threads (block_on_close)
        if thread is not None:
            thread.join()

    def __enter__(self) -> FakeSlack:
        """Start the fake for a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the fake when the ``with`` block ends."""
        self.stop()

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections clients have opened (keep-alive reuses one)."""
        return self._server.connections_accepted if self._server else 0

    def hang_up(self) -> None:
        """Close every open client connection, as a server does with idle kept-alive ones."""
        if self._server is not None:
            self._server.hang_up()

    # -- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=...)``, with its trailing slash."""
        return f"{self._origin()}/api/"

    def response_url(self, name: str = "default") -> str:
        """A response_url on this server whose POSTs are kept under ``name``."""
        return f"{self._origin()}/response/{quote(name, safe='')}"

    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack has not been started")
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self._port}"

    # -- configuration ---------------------------------------------------------------------

    def set_user(
        self, user_id: str, is_admin: bool = False, is_owner: bool = False, tz: str = "UTC"
    ) -> None:
        """Make ``users.info`` describe ``user_id`` this way (unknown users: non-admin, UTC)."""
        zoneinfo.ZoneInfo(tz)  # fail here, not inside the server, on a bad zone name
        with self._cond:
            self._users[user_id] = _UserInfo(is_admin=is_admin, is_owner=is_owner, tz=tz)

    def seed_message(self, channel_id: str, ts: str, text: str = "") -> None:
        """A bot message already in a channel (posted before the fake started), so that
        chat.update finds it."""
        with self._cond:
            self._messages[(channel_id, ts)] = _message({"text": text}, ts)

    # -- OAuth (distribution) ---------------------------------------------------------------

    def register_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        rotation: bool = False,
        scopes: tuple[str, ...] = ("commands", "chat:write", "chat:write.public", "users:read"),
        refresh_seconds: float = 0.0,
    ) -> None:
        """The app's OAuth credentials and the bot scopes its settings allow; `rotation`:
        tokens expire in 12 hours and come with a refresh token, as with token rotation
        enabled (a refresh takes `refresh_seconds`). From then on only tokens issued by
        oauth.v2.access are valid."""
        with self._cond:
            self._app = (client_id, client_secret)
            self._rotation = rotation
            self._scopes = set(scopes)
            self._refresh_seconds = refresh_seconds

    def authorize(self, team_id: str, name: str | None = None) -> str:
        """Someone of `team_id` (named `name`) approved the install on Slack's page: the
        one-time code Slack sends to the redirect URL."""
        with self._cond:
            if name is not None:
                self._team_names[team_id] = name
            self._issued += 1
            code = f"code-{team_id}-{self._issued}"
            self._codes[code] = team_id
            return code

    def approve(
        self, authorize_url: str, team_id: str, name: str | None = None, *, org: bool = False
    ) -> dict[str, str]:
        """Slack's install page, approved by someone of `team_id`: checks the URL the app
        sent the browser to (slack.com/oauth/v2/authorize, its client id, scopes Slack knows
        for the app) and returns the query Slack sends to the redirect URL: code and state."""
        parts = urlsplit(authorize_url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert (parts.scheme, parts.hostname, parts.path) == (
            "https",
            "slack.com",
            "/oauth/v2/authorize",
        ), authorize_url
        with self._cond:
            assert self._app is not None and query.get("client_id") == self._app[0], query
            asked = set(query.get("scope", "").split(","))
            assert asked and asked <= self._scopes, f"scopes {asked} not in {self._scopes}"
        code = self.authorize(team_id, name)
        if org:  # an Enterprise Grid admin installed it for the whole organization
            with self._cond:
                self._org_codes.add(code)
        return {"code": code, "state": query.get("state", "")}

    def uninstall(self, team_id: str) -> None:
        """The workspace removed the app: every token and refresh token of it is revoked
        (`token_revoked` from then on)."""
        with self._cond:
            for token, team in self._token_teams.items():
                if team == team_id:
                    self._revoked.add(token)
            for refresh, team in list(self._refresh.items()):
                if team == team_id:
                    del self._refresh[refresh]

    def expire(self, token: str) -> None:
        """Make a bot token expired (`token_expired` from then on)."""
        with self._cond:
            self._expired.add(token)

    def team_of(self, token: str) -> str | None:
        """The workspace a token issued by oauth.v2.access belongs to."""
        with self._cond:
            return self._token_teams.get(token)

    def _oauth_v2_access(self, args: JsonDict, headers: dict[str, str]) -> _Reply:
        client_id, client_secret = _basic_auth(headers) or (
            str(args.get("client_id", "")),
            str(args.get("client_secret", "")),
        )
        if self._app is None or client_id != self._app[0]:
            return _error("invalid_client_id")
        if client_secret != self._app[1]:
            return _error("bad_client_secret")
        if args.get("grant_type") == "refresh_token":
            team_id = self._refresh.pop(str(args.get("refresh_token", "")), None)
            if team_id is None:
                return _error("invalid_refresh_token")
            done = time.monotonic() + self._refresh_seconds
            while (left := done - time.monotonic()) > 0:  # Slack taking its time (the
                self._cond.wait(left)  # fake's lock is let go meanwhile)
            return self._tokens(team_id, user=False)
        code = str(args.get("code", ""))
        team_id = self._codes.pop(code, None)  # a code works once
        if team_id is None:
            return _error("invalid_code")
        reply = self._tokens(team_id, user=True)
        if code in self._org_codes:
            reply.body.update(
                team=None, enterprise={"id": "E0ORG", "name": "org"}, is_enterprise_install=True
            )
        return reply

    def _tokens(self, team_id: str, *, user: bool) -> _Reply:
        self._issued += 1
        token = f"xoxb-{team_id}-{self._issued}"
        self._token_teams[token] = team_id
        reply: JsonDict = {
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write,chat:write.public,users:read",
            "bot_user_id": BOT_USER_ID,
            "app_id": "A0APP",
            "team": {"id": team_id, "name": self._team_names.get(team_id, f"team {team_id}")},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if user:
            reply["authed_user"] = {"id": "UINSTALLER"}
        if self._rotation:
            refresh = f"xoxe-1-{team_id}-{self._issued}"
            self._refresh[refresh] = team_id
            reply.update(refresh_token=refresh, expires_in=43200)
        return _ok(**reply)

    def close_channel(self, channel_id: str, error: str = "not_in_channel") -> None:
        """Make chat.postMessage to a channel fail for good, as Slack does for a channel the
        bot is not in (``not_in_channel``, ``channel_not_found``, ``is_archived``)."""
        with self._cond:
            self._closed_channels[channel_id] = error

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with HTTP ``status`` instead."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._cond:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, times))

    # -- what was received -----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every Web API call received so far, in order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls received for one Web API method, e.g. ``"chat.postMessage"``."""
        with self._cond:
            return [c for c in self._calls if c.method == method]

    def responses(self, name: str = "default") -> list[JsonDict]:
        """The JSON bodies accepted at ``response_url(name)``, in order."""
        with self._cond:
            return list(self._responses.get(name, []))

    @property
    def rate_limited(self) -> list[str]:
        """Every call answered 429 for going over RATE_LIMITS (not those of fail_next), as
        "method (channel)": an app that paces itself never gets one."""
        with self._cond:
            return list(self._rate_limited)

    @property
    def refusals(self) -> list[str]:
        """Every message or view refused for breaking Block Kit's rules, as
        "method: problem" (a test that did not mean to send one asserts this is empty)."""
        with self._cond:
            return list(self._refusals)

    def clear(self) -> None:
        """Forget recorded calls, responses, pending failures and posted messages."""
        with self._cond:
            self._calls.clear()
            self._responses.clear()
            self._response_uses.clear()
            self._failures.clear()
            self._messages.clear()
            self._refusals.clear()
            self._buckets.clear()
            self._rate_limited.clear()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` is true, re-checking after each recorded request."""
        with self._cond:
            return bool(self._cond.wait_for(predicate, timeout))

    # -- request handling (called from the server's threads) -------------------------------

    def _handle_api(self, method: str, args: JsonDict, headers: dict[str, str]) -> _Reply:
        with self._cond:
            self._calls.append(Call(method, args, headers, time.monotonic()))
            self._cond.notify_all()
            failure = self._take_failure(method)
            if failure is not None:
                return failure
            if method == "oauth.v2.access":  # authenticated by the app's client id/secret
                return self._oauth_v2_access(args, headers)
            token = _bearer_token(headers) or str(args.get("token", ""))
            if token in self._expired:
                return _error("token_expired")
            if token in self._revoked:
                return _error("token_revoked")
            if self._app is not None and token and token not in self._token_teams:
                return _error("invalid_auth")  # distributed: only issued tokens are valid
            limited = self._over_rate_limit(method, token, args)
            if limited is not None:
                return limited
            if not token:
                return _error("not_authed")
            if not token.startswith(("xoxb-", "xoxp-")):
                return _error("invalid_auth")
            if method == "auth.test":  # answers for the token's own workspace
                return self._auth_test(token)
            handler = _METHODS.get(method)
            if handler is None:
                return _error("unknown_method")
            return handler(self, {**args, _TEAM: self._token_teams.get(token, TEAM_ID)})

    def _handle_response_url(self, name: str, body: JsonDict) -> _Reply:
        with self._cond:
            self._response_uses[name] = self._response_uses.get(name, 0) + 1
            self._cond.notify_all()
            if self._response_uses[name] > RESPONSE_URL_MAX_USES:
                return _error("used_url", status=404)
            if self._refused("response_url", body.get("blocks")):
                return _error("invalid_blocks", status=400)
            self._responses.setdefault(name, []).append(body)
            return _ok()

    def _refused(self, method: str, blocks: Any, surface: block_kit.Surface = "message") -> bool:
        found = block_kit.problems(blocks, surface)
        self._refusals += [f"{method}: {p}" for p in found]
        return bool(found)

    def _over_rate_limit(self, method: str, token: str, args: JsonDict) -> _Reply | None:
        """The generic cell rate algorithm over RATE_LIMITS; a call over it takes no turn."""
        if method not in RATE_LIMITS or not self._enforce_rate_limits:
            return None
        interval, burst = RATE_LIMITS[method]
        channel = str(args.get("channel", "")) if method == "chat.postMessage" else ""
        key = (token, method, channel)
        now = time.monotonic()
        start = max(self._buckets.get(key, now), now)
        early = start - (burst - 1) * interval - now
        if early > 0:
            self._rate_limited.append(f"{method} ({channel})" if channel else method)
            return _Reply(
                429,
                {"ok": False, "error": "ratelimited"},
                (("Retry-After", str(math.ceil(early))),),
            )
        self._buckets[key] = start + interval
        return None

    def _take_failure(self, method: str) -> _Reply | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining == 0:
            queue.pop(0)
        if failure.status == 429:
            return _Reply(
                429,
                {"ok": False, "error": "ratelimited"},
                (("Retry-After", str(failure.retry_after)),),
            )
        error = "internal_error" if failure.status >= 500 else "request_failed"
        return _error(error, status=failure.status)

    def _next_ts(self) -> str:
        micros = _FIRST_TS_MICROS + self._ts_counter * _TS_STEP_MICROS
        self._ts_counter += 1
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- Web API methods (called with self._cond held) -------------------------------------

    def _auth_test(self, token: str) -> _Reply:
        team_id = self._token_teams.get(token, TEAM_ID)
        return _ok(
            url=f"https://{TEAM_NAME}.slack.com/",
            team=TEAM_NAME,
            user=BOT_NAME,
            team_id=team_id,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            bot_user_id=BOT_USER_ID,
            is_enterprise_install=False,
        )

    def _chat_post_message(self, args: JsonDict) -> _Reply:
        channel = str(args.get("channel") or "")
        if not channel:
            return _error("channel_not_found")
        if channel in self._closed_channels:
            return _error(self._closed_channels[channel])
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return _error("no_text")
        if self._refused("chat.postMessage", args.get("blocks")):
            return _error("invalid_blocks")
        ts = self._next_ts()
        message = _message(args, ts)
        self._messages[(channel, ts)] = message
        return _ok(channel=channel, ts=ts, message=message)

    def _chat_post_ephemeral(self, args: JsonDict) -> _Reply:
        if not args.get("channel"):
            return _error("channel_not_found")
        if not args.get("user"):
            return _error("user_not_found")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return _error("no_text")
        if self._refused("chat.postEphemeral", args.get("blocks")):
            return _error("invalid_blocks")
        # Not kept: an ephemeral message cannot be chat.update'd.
        return _ok(message_ts=self._next_ts())

    def _chat_update(self, args: JsonDict) -> _Reply:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        old = self._messages.get((channel, ts))
        if old is None:
            return _error("message_not_found")
        if self._refused("chat.update", args.get("blocks")):
            return _error("invalid_blocks")
        message = {**old, **_message(args, ts), "edited": {"user": BOT_USER_ID, "ts": ts}}
        self._messages[(channel, ts)] = message
        return _ok(channel=channel, ts=ts, text=message.get("text", ""), message=message)

    def _users_info(self, args: JsonDict) -> _Reply:
        user_id = str(args.get("user") or "")
        if not user_id:
            return _error("user_not_found")
        info = self._users.get(user_id, _UserInfo(is_admin=False, is_owner=False, tz="UTC"))
        offset = datetime.now(zoneinfo.ZoneInfo(info.tz)).utcoffset()
        return _ok(
            user={
                "id": user_id,
                "team_id": args[_TEAM],
                "name": user_id.lower(),
                "real_name": f"User {user_id}",
                "profile": {
                    "display_name": f"user-{user_id.lower()}",
                    "real_name": f"User {user_id}",
                },
                "deleted": False,
                "is_bot": False,
                "is_admin": info.is_admin,
                "is_owner": info.is_owner,
                "tz": info.tz,
                "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            }
        )

    def _views_publish(self, args: JsonDict) -> _Reply:
        view = args.get("view")
        if not args.get("user_id") or not isinstance(view, dict):
            return _error("invalid_arguments")
        surface = "home" if view.get("type") == "home" else "modal"
        if self._refused("views.publish", view.get("blocks"), surface):
            return _error("invalid_arguments")
        self._view_counter += 1
        return _ok(view={"id": f"V{self._view_counter:08d}", "team_id": args[_TEAM], **view})


_TEAM = "\x00team"  # the calling token's workspace, passed to the method handlers

_METHODS: dict[str, Callable[[FakeSlack, JsonDict], _Reply]] = {
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.update": FakeSlack._chat_update,
    "users.info": FakeSlack._users_info,
    "views.publish": FakeSlack._views_publish,
}


def _message(args: JsonDict, ts: str) -> JsonDict:
    message: JsonDict = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "ts": ts,
        "text": args.get("text", ""),
    }
    for key in ("blocks", "attachments", "thread_ts", "metadata"):
        if key in args:
            message[key] = args[key]
    return message


def _basic_auth(headers: dict[str, str]) -> tuple[str, str] | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except ValueError:
        return None
    return client_id, secret


def _bearer_token(headers: dict[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _parse_args(query: str, content_type: str, body: bytes) -> JsonDict | None:
    """Merge query-string, form and JSON arguments; None when the body is not valid JSON."""
    args: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" and body:
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(parsed, dict):
            return None
        args.update(parsed)
    elif media_type == "application/x-www-form-urlencoded" and body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.lstrip().startswith(("[", "{")):
            # Undecodable: keep the string so the test can see what was sent.
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


class _Server(ThreadingHTTPServer):
    # Track request threads so server_close() joins them: no thread outlives stop().
    daemon_threads = False
    block_on_close = True
    # Slack takes any number of connections at once; the default backlog of 5 made
    # Linux reset some of a burst's new connections (seen with 500 clicks on 4 workers)
    request_queue_size = 512
    fake: FakeSlack

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.connections_accepted = 0

    def hang_up(self) -> None:
        """End kept-alive connections, so their threads finish and stop() can join them."""
        with self.connections_lock:
            for sock in self.open_connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up early is not worth a traceback on stderr.
        pass


class _Handler(BaseHTTPRequestHandler):
    # keep-alive, as Slack does: a client may send many requests on one connection
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY the body of a reply on a
    # kept-alive connection waits for the client's delayed ACK (about 40 ms), which Slack's
    # servers do not make clients wait
    disable_nagle_algorithm = True
    timeout = 10  # seconds; a stuck client cannot hang stop() forever
    server_version = "FakeSlack/1.0"

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.open_connections.add(self.connection)
            server.connections_accepted += 1

    def finish(self) -> None:
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.open_connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: no request log on stderr

    def _dispatch(self) -> None:
        fake = cast(_Server, self.server).fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("Content-Type", "")
        if parts.path.startswith("/api/"):
            args = _parse_args(parts.query, content_type, body)
            if args is None:
                self._send(_error("invalid_json"))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(fake._handle_api(parts.path.removeprefix("/api/"), args, headers))
        elif parts.path.startswith("/response/") and self.command == "POST":
            try:
                payload = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                payload = None
            if not isinstance(payload, dict):
                self._send(_error("invalid_payload", status=400))
                return
            name = unquote(parts.path.removeprefix("/response/"))
            self._send(fake._handle_response_url(name, payload))
        else:
            self._send(_error("not_found", status=404))

    def _send(self, reply: _Reply) -> None:
        data = json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
