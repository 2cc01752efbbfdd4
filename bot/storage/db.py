"""The database engine: SQLite by default (WAL), PostgreSQL for teams."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
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


class _SerializedSession(Session):
    """On SQLite, one write transaction at a time per process: threads queue on a lock
    instead of SQLite's busy handler, whose back-off sleeps make long tail latencies."""

    def __init__(self, *args: Any, write_lock: threading.Lock, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._write_lock = write_lock
        self._holding = False
        # taken when the unit of work starts, before SQLite's BEGIN IMMEDIATE
        event.listen(self, "after_transaction_create", self._acquire)
        event.listen(self, "after_transaction_end", self._release)

    def _acquire(self, _session: Session, transaction: Any) -> None:
        if transaction.parent is None and not self._holding:
            self._write_lock.acquire()
            self._holding = True

    def _release(self, _session: Session, transaction: Any) -> None:
        if transaction.parent is None and self._holding:
            self._holding = False
            self._write_lock.release()


@contextmanager
def core_transaction(sessions: sessionmaker[Session]) -> Iterator[Connection]:
    """A Core connection in one transaction, for hot paths that skip the ORM; on SQLite
    it queues on the same per-process write lock as the sessions."""
    engine = sessions.kw["bind"]
    lock = _LOCKS.get(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if lock is not None:
        lock.acquire()
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        if lock is not None:
            lock.release()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work: `with factory.begin() as session:` commits or rolls back."""
    if engine.dialect.name == "sqlite":
        lock = _LOCKS.setdefault(str(engine.url), threading.Lock())
        return sessionmaker(engine, class_=_SerializedSession, expire_on_commit=False,
                            write_lock=lock)
    return sessionmaker(engine, expire_on_commit=False)


_LOCKS: dict[str, threading.Lock] = {}
