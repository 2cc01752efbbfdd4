"""A PostgreSQL that stops answering (connections open, nothing comes back), behind a TCP
proxy: lookups keep answering, /healthz says 503 in time, and a click fails within the
database timeout instead of holding its thread for minutes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from datetime import time as clock_time

import pytest
from sqlalchemy import make_url, text

from bot.commands import DailyOn
from bot.core import Core
from bot.daily.channel import PostView
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller
from bot.scheduling import DaySet
from bot.storage.db import make_engine, session_factory
from bot.storage.migrate import upgrade
from tests.conftest import POSTGRES_URL
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.handlers.conftest import SlackClient
from tests.handlers.test_daily_slack import answer_buttons, post_question

Serve = Callable[..., SlackClient]


@pytest.fixture
def engine_pg_schema() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema (made directly, not through the proxy)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    upgrade(engine)
    engine.dispose()
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL: set VIRTSEC_TEST_POSTGRES_URL")
def test_a_stalled_database_does_not_stall_lookups_or_health_checks(
    serve: Serve, fake_slack: FakeSlack, engine_pg_schema: str
) -> None:
    url = make_url(POSTGRES_URL)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        sep = "&" if "?" in proxied else "?"
        client = serve(database_url=f"{proxied}{sep}options=-csearch_path%3D{engine_pg_schema}")
        fake_slack.set_user("UADMIN", is_admin=True)
        button = answer_buttons(post_question(client, fake_slack))[0]
        proxy.stall()
        clicks: list[float] = []

        def click(user: str) -> None:
            started = time.monotonic()
            client.click(button["action_id"], button["value"], user=user, ephemeral=False)
            clicks.append(time.monotonic() - started)

        threads = [threading.Thread(target=click, args=(f"U{k}",)) for k in range(4)]
        for t in threads:
            t.start()
        # the clicks are now waiting on the stalled database, and each process's look at
        # which knowledge base to serve (every 2 s) is due again
        time.sleep(2.5)
        started = time.monotonic()
        lookup = client.command("what is vm escape")
        lookup_seconds = time.monotonic() - started
        started = time.monotonic()
        health = client.get("/healthz")
        health_seconds = time.monotonic() - started
        for t in threads:
            t.join(timeout=30)
        assert lookup.status == 200 and lookup.json()["text"].startswith("VM escape")
        assert lookup_seconds < 1.0
        assert health.status == 503 and health_seconds < 3.0
        assert json.loads(health.body) == {"ok": False, "database": "unreachable"}
        assert len(clicks) == 4 and max(clicks) < 10.0  # failed within the timeouts
        print(
            f"stalled database: lookup {lookup_seconds * 1000:.0f} ms, /healthz "
            f"{health_seconds * 1000:.0f} ms (503), clicks gave up after "
            f"{max(clicks):.1f} s"
        )
        proxy.resume()
        # the stuck health check finishes (cut by the client-side bound) and a new one
        # reports the database back, so no connection outlives the test
        deadline = time.monotonic() + 15
        while client.get("/healthz").status != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/healthz").status == 200


class CutAfterPosting(RecordingChannel):
    """A channel whose database connections are cut just after each post reached Slack."""

    def __init__(self, proxy: TcpProxy):
        super().__init__()
        self.proxy = proxy

    def post_question(self, view: PostView) -> str:
        ts = super().post_question(view)
        self.proxy.cut()
        return ts


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL: set VIRTSEC_TEST_POSTGRES_URL")
def test_a_database_cut_after_slack_took_the_post_posts_once(
    engine_pg_schema: str, kb: KnowledgeBase
) -> None:
    url = make_url(POSTGRES_URL)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        sep = "&" if "?" in proxied else "?"
        engine = make_engine(f"{proxied}{sep}options=-csearch_path%3D{engine_pg_schema}")
        clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
        channel = CutAfterPosting(proxy)
        core = Core(Library(lambda: kb), session_factory(engine), channel, clock=clock)
        admin = Caller("T1", "UADMIN", "C1", is_admin=True)
        core.schedules.subscribe(admin, DailyOn(clock_time(9, 0), "UTC", DaySet.EVERYDAY))
        clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
        assert len(core.scheduler.tick().posted) == 1  # recorded on a fresh connection
        for _ in range(3):
            clock.advance(minutes=3)
            assert core.scheduler.tick().posted == []
        assert len(channel.posts) == 1
        post = channel.posts[0]
        right = f"{post.post_id}:{post.question.answer_index}"
        assert core.answering.answer("T1", "U1", right, "C1").status == "recorded"
        engine.dispose()
