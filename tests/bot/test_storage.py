"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import StaticPool

from bot.storage import db
from bot.storage.db import make_engine, session_factory, write_lock
from bot.storage.migrate import alembic_config, current_tables, upgrade
from bot.storage.tables import Base, ours
from tests.conftest import engine_url

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": ours}), Base.metadata
        )
    assert diff == []
    assert {"subscriptions", "daily_posts", "answers", "scores"} <= current_tables(engine)


def test_upgrade_is_idempotent_and_downgrade_works(engine: Engine) -> None:
    upgrade(engine)  # already at head: nothing to do, no error
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert not {"answers", "scores"} & current_tables(engine)
    upgrade(engine)
    assert "answers" in current_tables(engine)


def test_upgrading_a_database_in_use_keeps_its_data(engine: Engine) -> None:
    # a deployment at revision 0003 with a channel, a closed question and an answer
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscriptions (id, team_id, channel_id, post_time, timezone, "
                "days, enabled, weekly_report, created_by, created_at, updated_at) VALUES "
                "(1, 'T1', 'C1', '09:00', 'UTC', 'weekdays', true, true, 'U1', :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO daily_posts (id, team_id, channel_id, slot, local_date, "
                "question_id, status, claim_token, claimed_at, message_ts, posted_at, "
                "closed_at, answer_count, shown_count) VALUES (1, 'T1', 'C1', '2026-01-05', "
                ":day, 'q-1', 'closed', 'x', :now, '1.1', :now, :now, 1, 1)"
            ),
            {"now": NOW, "day": NOW.date()},
        )
        conn.execute(
            text(
                "INSERT INTO answers (team_id, channel_id, user_id, kind, post_id, question_id, "
                "choice, correct, local_date, answered_at) VALUES ('T1', 'C1', 'U1', 'daily', 1, "
                "'q-1', 0, true, :day, :now)"
            ),
            {"now": NOW, "day": NOW.date()},
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM answers")).scalar() == 1
        post = conn.execute(text("SELECT status, revealed_at FROM daily_posts")).one()
        assert post[0] == "closed" and post[1] is not None  # closed before: revealed
        starts = conn.execute(text("SELECT starts_on FROM subscriptions")).scalar()
        assert starts is None  # an old schedule keeps posting as it did
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": ours}), Base.metadata
        )
    assert diff == []


def _write_when_free(url: str, entered: Any, done: Any) -> None:
    """In a forked process: take the writer lock the way a web worker does."""
    with session_factory(make_engine(url)).begin():
        entered.set()
    done.set()


def test_sqlite_writers_in_forked_processes_take_turns(tmp_path: Path) -> None:
    # gunicorn forks its workers after the app (and this lock) exists: each process must
    # still wait for the others' writes
    url = f"sqlite:///{tmp_path}/turns.db"
    engine = make_engine(url)
    upgrade(engine)
    lock = write_lock(engine)
    assert lock is not None and lock.path == f"{tmp_path}/turns.db-writer.lock"
    fork = mp.get_context("fork")
    entered, done = fork.Event(), fork.Event()
    child = fork.Process(target=_write_when_free, args=(url, entered, done))
    lock.acquire()  # held by this process (and one of its threads) at the fork
    held = True
    try:
        child.start()
        assert not entered.wait(0.5), "the child wrote while this process held the lock"
        lock.release()
        held = False
        assert entered.wait(10) and done.wait(10)
        child.join(10)
        assert child.exitcode == 0
    finally:
        if held:
            lock.release()
        if child.is_alive():
            child.kill()
            child.join()
        engine.dispose()


def test_in_memory_sqlite_serializes_threads_only(tmp_path: Path) -> None:
    for memory in ("sqlite://", "sqlite:///file:mem1?mode=memory&cache=shared&uri=true"):
        lock = write_lock(create_engine(memory, poolclass=StaticPool))
        assert lock is not None and lock.path is None
    on_file = write_lock(make_engine(f"sqlite:///file:{tmp_path}/u.db?mode=rwc&uri=true"))
    assert on_file is not None and on_file.path == f"{tmp_path}/u.db-writer.lock"
    assert write_lock(make_engine("postgresql+psycopg://u@127.0.0.1/db")) is None


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite has no server
def test_a_postgresql_restart_seen_by_one_ping_renews_the_whole_pool(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.connect() as first, engine.connect() as second:  # two pooled connections
        pids = {c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in (first, second)}
    other = make_engine(engine_url(engine))
    with other.connect() as killer:  # as a database restart would
        for pid in pids:
            assert killer.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    other.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # idled long enough: pinged
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() not in pids
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)  # fresh: not pinged
    with engine.connect() as first, engine.connect() as second:
        # the other dead connection was dropped with the pool, not handed out
        assert (
            not {c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in (first, second)}
            & pids
        )
