"""Run the Slack app: HTTP mode under gunicorn, or Socket Mode."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings
from bot.services import Study
from bot.storage.db import make_engine, ping
from handlers.app import build_app
from handlers.wsgi import WSGIApp, make_wsgi_app

logger = logging.getLogger(__name__)


def create_wsgi_app(settings: Settings, study: Study) -> WSGIApp:
    """The production WSGI app for these settings."""
    engine = make_engine(settings.database_url)
    return make_wsgi_app(build_app(settings, study), lambda: ping(engine))


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, application: WSGIApp, options: dict[str, Any]):
        self._application = application
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        return self._application


def serve_http(settings: Settings, study: Study, host: str = "0.0.0.0") -> None:
    """Serve /slack/events and /healthz under gunicorn (gthread workers)."""
    settings.require("http")
    application = create_wsgi_app(settings, study)
    logger.info("virtsec HTTP mode on %s:%s (%s)", host, settings.port, settings.describe())
    _Gunicorn(application, {
        "bind": f"{host}:{settings.port}",
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "preload_app": True,
        "accesslog": None,
        "timeout": 30,
        "graceful_timeout": 10,
    }).run()


def serve_socket(settings: Settings, study: Study) -> None:
    """Connect to Slack over Socket Mode (no public URL needed)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings.require("socket")
    app = build_app(settings, study, socket_mode=True)
    logger.info("virtsec Socket Mode (%s)", settings.describe())
    SocketModeHandler(app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]
