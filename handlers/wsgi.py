"""The WSGI application served in HTTP mode: Slack at /slack/events, health at /healthz.

Every request to /slack/events is checked here before Bolt sees it: a body of a sane size,
read whole, with a valid Slack signature (timestamp within 5 minutes). Anything else gets
4xx and causes nothing, not even a log line with its content.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
MAX_BODY = 1 << 20  # 1 MiB; Slack's largest payloads (a message's blocks) are far smaller
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def signed_body(environ: dict[str, Any], verifier: SignatureVerifier) -> bytes | str:
    """The request's body when Slack signed it; otherwise the HTTP status to answer."""
    length_text = str(environ.get("CONTENT_LENGTH") or "")
    if not (length_text.isascii() and length_text.isdigit()):
        return "411 Length Required"
    length = int(length_text)
    if length > MAX_BODY:
        return "413 Content Too Large"
    body: bytes = environ["wsgi.input"].read(length)
    if len(body) != length:
        return "400 Bad Request"
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "401 Unauthorized"
    if not verifier.is_valid(body, timestamp, signature):
        return "401 Unauthorized"
    return body


def make_wsgi_app(
    bolt_app: App, health: Callable[[], tuple[bool, str]], signing_secret: str
) -> WSGIApp:
    """Route Slack's requests to Bolt and answer health checks (database included)."""
    slack = SlackRequestHandler(bolt_app, path=SLACK_PATH)
    verifier = SignatureVerifier(signing_secret)

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
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return application
