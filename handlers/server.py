"""Run the Slack app: HTTP mode under gunicorn, or Socket Mode."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy import Engine

from bot.config import Settings
from bot.daily.scheduler import TickReport
from bot.library import Library
from bot.storage.db import make_engine, ping
from handlers.app import build_app, build_core
from handlers.web_api import build_client
from handlers.wsgi import WSGIApp, make_wsgi_app

logger = logging.getLogger(__name__)


def create_wsgi_app(settings: Settings, library: Library, engine: Engine | None = None) -> WSGIApp:
    """The production WSGI app for these settings."""
    engine = engine or make_engine(settings.database_url, timeout=settings.db_timeout)
    return make_wsgi_app(
        build_app(settings, library, engine=engine),
        lambda: ping(engine),
        settings.slack_signing_secret,
    )


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


def serve_http(settings: Settings, library: Library, host: str = "0.0.0.0") -> None:
    """Serve /slack/events and /healthz under gunicorn (gthread workers)."""
    settings.require("http")
    engine = make_engine(settings.database_url, timeout=settings.db_timeout)
    application = create_wsgi_app(settings, library, engine)

    def post_fork(_server: Any, _worker: Any) -> None:
        # pooled connections are never shared across a fork: each worker opens its own
        engine.dispose(close=False)

    # Everything loaded so far lives as long as the process: kept out of the cyclic
    # garbage collector, whose full passes over it paused a worker for 50-80 ms (and
    # would copy the shared pages into every worker)
    gc.freeze()
    logger.info("virtsec HTTP mode on %s:%s (%s)", host, settings.port, settings.describe())
    _Gunicorn(
        application,
        {
            "bind": f"{host}:{settings.port}",
            "workers": settings.web_workers,
            "worker_class": "gthread",
            "threads": settings.web_threads,
            "preload_app": True,
            "accesslog": None,
            "timeout": 30,
            "graceful_timeout": 10,
            "post_fork": post_fork,
        },
    ).run()


def serve_socket(settings: Settings, library: Library) -> None:
    """Connect to Slack over Socket Mode (no public URL needed)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings.require("socket")
    app = build_app(settings, library, socket_mode=True)
    logger.info("virtsec Socket Mode (%s)", settings.describe())
    SocketModeHandler(app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]


def tick_once(settings: Settings, library: Library) -> TickReport:
    """Do what is due now (post, close, retry) and return what was done."""
    settings.require("tick")
    engine = make_engine(settings.database_url, timeout=settings.db_timeout)
    try:
        core = build_core(settings, library, build_client(settings), engine)
        report = core.scheduler.tick()
        core.tidy()
        return report
    finally:
        engine.dispose()


def run_scheduler(
    settings: Settings,
    library: Library,
    stop: threading.Event | None = None,
    every: float = 60.0,
) -> None:
    """Tick at the start of every minute (`every` seconds) until SIGTERM/SIGINT (or `stop`
    is set); a tick that fails is logged and the next one runs."""
    settings.require("tick")
    core = build_core(settings, library, build_client(settings))
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    logger.info("virtsec scheduler started (%s)", settings.describe())
    while not stop.is_set():
        try:
            core.knowledge.check()  # another process may have reloaded the knowledge base
            report = core.scheduler.tick()
            core.tidy()
        except Exception:  # e.g. the database is down: this minute fails, the next one runs
            logger.exception("tick failed; the next minute tries again")
        else:
            if report.posted or report.closed or report.failed:
                logger.info(
                    "tick: posted %s, closed %s, failed %s",
                    report.posted,
                    report.closed,
                    report.failed,
                )
        stop.wait(every - time.time() % every)
    logger.info("virtsec scheduler stopped")
