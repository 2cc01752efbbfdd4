"""The database engine: SQLite by default (WAL), PostgreSQL for teams."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import redact_url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for a database URL; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(conn: sqlite3.Connection, _record: Any) -> None:
            conn.isolation_level = None  # SQLAlchemy's "begin" below emits BEGIN itself
            cur = conn.cursor()
            if url not in ("sqlite://", "sqlite:///:memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # take the write lock up front: a deferred transaction that reads and then
            # writes fails at once (SQLITE_BUSY) when another writer got in between
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def ping(engine: Engine) -> tuple[bool, str]:
    """Check the database answers; (ok, a short description without secrets)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return False, f"{redact_url(str(engine.url))}: {type(cause).__name__}"
    return True, engine.dialect.name


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work: `with factory.begin() as session:` commits or rolls back."""
    return sessionmaker(engine, expire_on_commit=False)
