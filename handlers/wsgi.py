"""The WSGI application served in HTTP mode: Slack at /slack/events, health at /healthz,
and in OAuth mode the install pages (GET /slack/install, /slack/oauth_redirect), which Bolt
serves.

Every request to /slack/events is checked here before Bolt sees it: a body of a sane size,
read whole, with a valid Slack signature (timestamp within 5 minutes). Anything else gets
4xx and causes nothing, not even a log line with its content.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.deadlines import Deadlines

logger = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
MAX_BODY = 1 << 20  # 1 MiB; Slack's largest payloads (a message's blocks) are far smaller
BODY_SECONDS = 2.0  # a client that has not sent its whole body by then is cut off (Slack
# sends a few kilobytes at once; a slow client holds a gunicorn thread until then)
HEALTH_SECONDS = 2.5  # /healthz answers within this, whatever the database does
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class BoundedHealth:
    """Runs a health check on its own thread and waits at most HEALTH_SECONDS for it: a
    stalled database makes /healthz answer 503 in time, and while one check hangs the next
    ones answer 503 at once instead of piling up."""

    def __init__(self, check: Callable[[], tuple[bool, str]], seconds: float = HEALTH_SECONDS):
        self._check = check
        self._seconds = seconds
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="virtsec-health")
        self._lock = threading.Lock()
        self._running: Future[tuple[bool, str]] | None = None

    def __call__(self) -> tuple[bool, str]:
        """(database answers, "ok" or "unreachable")."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._pool.submit(self._check)
            running = self._running
        try:
            return running.result(timeout=self._seconds)
        except FutureTimeout:
            logger.warning("the health check did not finish within %.1f s", self._seconds)
            return False, "unreachable"


def signed_body(environ: dict[str, Any], verifier: SignatureVerifier) -> bytes | str:
    """The request's body when Slack signed it; otherwise the HTTP status to answer."""
    length_text = str(environ.get("CONTENT_LENGTH") or "")
    if not (length_text.isascii() and length_text.isdigit()):
        return "411 Length Required"
    length = int(length_text)
    if length > MAX_BODY:
        return "413 Content Too Large"
    body = _read_body(environ, length)
    if body is None:
        return "408 Request Timeout"
    if len(body) != length:
        return "400 Bad Request"
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "401 Unauthorized"
    if not verifier.is_valid(body, timestamp, signature):
        return "401 Unauthorized"
    content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    return body if _well_formed(body, content_type) else "400 Bad Request"


def _well_formed(body: bytes, content_type: str) -> bool:
    """A form (whose `payload`, if any, is a JSON object) or a JSON object, in the shapes
    Slack sends: Bolt itself fails on some others (an event that is a string, say)."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json":
            return _slack_shaped(json.loads(text))
        if content_type != "application/x-www-form-urlencoded":
            return False
        form = urllib.parse.parse_qs(text, strict_parsing=bool(text), errors="strict")
        if any(len(values) != 1 for values in form.values()):
            return False
        payload = form.get("payload")
        return payload is None or _slack_shaped(json.loads(payload[0]))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False


_OBJECTS = ("team", "user", "channel", "container", "view", "message", "enterprise")
_STRINGS = ("type", "team_id", "user_id", "channel_id", "api_app_id", "response_url", "event_id")


def _slack_shaped(body: Any) -> bool:
    """Objects where Slack has objects, strings where it has strings (ids above all)."""
    if not isinstance(body, dict):
        return False
    if any(not isinstance(body.get(k, ""), str) for k in _STRINGS):
        return False
    for key in _OBJECTS:
        value = body.get(key)
        if value is not None and not (
            isinstance(value, dict) and isinstance(value.get("id", ""), str)
        ):
            return False
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return False
    event = body.get("event")
    if event is None:
        return True
    return (
        isinstance(event, dict)
        and isinstance(event.get("type", ""), str)
        and all(isinstance(event.get(k, ""), (str, dict)) for k in ("user", "channel", "tab"))
        and all(
            isinstance(event[k].get("id", ""), str)
            for k in ("user", "channel")
            if isinstance(event.get(k), dict)
        )
    )


_SLOW_BODIES = Deadlines("virtsec-slow-bodies", granularity=0.1)


def _read_body(environ: dict[str, Any], length: int) -> bytes | None:
    """The body, or None when the client did not send it within BODY_SECONDS (under
    gunicorn, whose socket is at hand: a slow body must not hold a worker thread; a timeout
    per read would let one byte every few seconds hold it for ever)."""
    sock = environ.get("gunicorn.socket")
    deadline = None
    if sock is not None:
        deadline = _SLOW_BODIES.watch(functools.partial(_stop_reading, sock), BODY_SECONDS)
    try:
        body = bytes(environ["wsgi.input"].read(length))
    except OSError:
        return None
    finally:
        if deadline is not None:
            deadline.done()
    return body if len(body) == length or sock is None else None


def _stop_reading(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)


def make_wsgi_app(
    bolt_app: App, health: Callable[[], tuple[bool, str]], signing_secret: str
) -> WSGIApp:
    """Route Slack's requests to Bolt and answer health checks (database included)."""
    slack = SlackRequestHandler(bolt_app, path=SLACK_PATH)
    verifier = SignatureVerifier(signing_secret)
    health = BoundedHealth(health)
    flow = bolt_app.oauth_flow
    install_paths = {flow.install_path, flow.redirect_uri_path} if flow is not None else set()

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok, database = health()
            return _json(
                start_response,
                "200 OK" if ok else "503 Service Unavailable",
                {"ok": ok, "database": database},
            )
        if path == SLACK_PATH and method == "POST":
            body = signed_body(environ, verifier)
            if isinstance(body, str):
                logger.info("refused a request to %s: %s", SLACK_PATH, body)
                return _json(start_response, body, {"error": "invalid request"})
            environ["wsgi.input"] = io.BytesIO(body)
            return slack(environ, start_response)
        if path in install_paths and method == "GET":
            # a browser's visit: the install state is checked by Bolt (a cookie set by
            # /slack/install and a one-time state in the database), never a body read
            environ["wsgi.input"] = io.BytesIO(b"")
            environ["CONTENT_LENGTH"] = "0"
            return slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return application
