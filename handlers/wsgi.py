"""The WSGI application served in HTTP mode: Slack at /slack/events, health at /healthz."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

SLACK_PATH = "/slack/events"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def make_wsgi_app(bolt_app: App, health: Callable[[], tuple[bool, str]]) -> WSGIApp:
    """Route Slack's requests to Bolt and answer health checks (database included)."""
    slack = SlackRequestHandler(bolt_app, path=SLACK_PATH)

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
            return slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return application
