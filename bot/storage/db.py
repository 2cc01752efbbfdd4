"""The database engine: SQLite by default (WAL), PostgreSQL for teams."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import InvalidatePoolError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import redact_url
from bot.deadlines import Deadlines

logger = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # Windows: threads still queue; processes fall back to SQLite's busy wait
    fcntl = None  # type: ignore[assignment]


#: Seconds to connect, to wait for a pooled connection, and for one statement to run.
DEFAULT_TIMEOUT = 5.0


def make_engine(url: str, *, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Engine:
    """An engine for a database URL. Every wait is bounded by `timeout` seconds: connecting,
    waiting for a pooled connection, a statement (PostgreSQL's statement_timeout), a lock.
    SQLite gets WAL, foreign keys and the same bound as its busy timeout."""
    # a failed statement's error never carries its values into a log: some are secrets
    # (the bot tokens of OAuth mode's installations)
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": timeout, "check_same_thread": False}, **kwargs
        )

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
    parsed = make_url(url)
    millis = int(timeout * 1000)
    options = " ".join(
        o
        for o in (
            str(parsed.query.get("options", "")),
            f"-c statement_timeout={millis}",
            f"-c lock_timeout={millis}",
        )
        if o
    )
    engine = create_engine(
        parsed,
        pool_timeout=timeout,
        connect_args={"connect_timeout": max(1, round(timeout)), "options": options},
        **kwargs,
    )
    _ping_after_idle(engine)
    _bound_on_the_client(engine, timeout + CLIENT_GRACE)
    return engine


#: The client gives the server's statement_timeout this long before it cuts a connection.
CLIENT_GRACE = 1.0
_STALLS = Deadlines("virtsec-db-stalls")
_ARMED = "virtsec_deadline"


def _bound_on_the_client(engine: Engine, seconds: float) -> None:
    """statement_timeout is the server's: a database that stopped answering (a stalled
    network or proxy) never applies it, and psycopg would wait on the socket for minutes.
    So every statement, commit and rollback is also bounded here: past `seconds` the
    connection's socket is shut, the call fails, and the pool drops the connection."""

    def arm(info: dict[str, Any], dbapi_conn: Any) -> None:
        disarm(info)
        # a weak reference: a watched wait must not keep a connection alive
        info[_ARMED] = _STALLS.watch(functools.partial(_shut, weakref.ref(dbapi_conn)), seconds)

    def disarm(info: dict[str, Any]) -> None:
        armed = info.pop(_ARMED, None)
        if armed is not None:
            armed.done()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Connection, *_args: Any) -> None:
        arm(conn.info, conn.connection.dbapi_connection)

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Connection, *_args: Any) -> None:
        disarm(conn.info)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _before_end(conn: Connection) -> None:  # ended by the checkin below
        arm(conn.info, conn.connection.dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        if context.connection is not None:
            disarm(context.connection.info)

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        disarm(record.info)


def _shut(ref: weakref.ref[Any]) -> None:
    """Shut a psycopg connection's socket: a call blocked on it fails at once."""
    dbapi_conn = ref()
    if dbapi_conn is None or dbapi_conn.closed:
        return
    try:
        fd = dbapi_conn.pgconn.socket
    except Exception:  # closed meanwhile
        return
    logger.warning("the database did not answer in time; dropping a connection")
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


#: A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_after_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling without a round trip per request: a connection
    idle for a while (the database may have restarted since) is pinged at checkout and
    replaced when dead; one in use moments ago is trusted. A restart under load fails the
    requests in flight, and SQLAlchemy then renews the whole pool."""

    @event.listens_for(engine.pool, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # the database likely restarted: renew every pooled connection, not just this one
            raise InvalidatePoolError("the connection was dead after idling") from exc


def ping(engine: Engine) -> tuple[bool, str]:
    """Check the database answers: (ok, "ok" or "unreachable"); the cause goes to the log,
    with the URL's password hidden, never to the caller (health checks are public)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        logger.warning(
            "the database %s does not answer: %s",
            redact_url(engine.url.render_as_string(hide_password=False)),
            type(cause).__name__,
        )
        return False, "unreachable"
    return True, "ok"


class DatabaseBusy(SQLAlchemyError):
    """Another writer kept the SQLite database for longer than WriteLock.WAIT_SECONDS."""


class WriteLock:
    """One SQLite transaction at a time. Threads of a process queue on a lock; processes
    (web workers, the scheduler, `virtsec tick`) take turns on an flock of a file beside
    the database. A waiter wakes the moment the holder is done, where SQLite's own busy
    handler sleeps in steps of 1, 2, 5, 10 ... 100 ms and makes long tail latencies."""

    WAIT_SECONDS = 30.0

    def __init__(self, path: str | None):
        self._threads = threading.Lock()
        self._path = path if fcntl is not None else None
        self._fd = -1
        self._pid = 0

    @property
    def path(self) -> str | None:
        """The lock file, or None when only this process's threads are serialized."""
        return self._path

    def acquire(self) -> None:
        """Wait until no other thread or process is in a transaction. A thread gives up
        after WAIT_SECONDS (SQLite's busy timeout) with DatabaseBusy. The flock has no
        time-out: polling for it instead let one busy worker starve the other (p99 70 ms
        instead of 40 in benchmarks/scores.py); a process that dies releases it."""
        if not self._threads.acquire(timeout=self.WAIT_SECONDS):
            raise DatabaseBusy(f"no turn to write after {self.WAIT_SECONDS:.0f} s")
        if self._path is None:
            return
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        """Let the next writer in."""
        try:
            if self._path is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def reset_threads(self) -> None:
        """After a fork: this process's threads start with the lock free."""
        self._threads = threading.Lock()

    def _file(self) -> int:
        # flock belongs to an open file, which fork shares: each process opens its own
        if self._pid != os.getpid():
            if self._fd >= 0:
                os.close(self._fd)
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd


def write_lock(engine: Engine) -> WriteLock | None:
    """The writer lock shared by everything in this process using a SQLite database."""
    if engine.dialect.name != "sqlite":
        return None
    key = str(engine.url)
    with _LOCKS_GUARD:
        if key not in _LOCKS:
            _LOCKS[key] = WriteLock(_database_file(engine))
        return _LOCKS[key]


def _database_file(engine: Engine) -> str | None:
    """The SQLite database's file, or None for an in-memory database."""
    database = engine.url.database or ""
    uri = engine.url.query.get("uri") == "true" or database.startswith("file:")
    if uri:  # file:path?mode=...
        path, _, options = database.removeprefix("file:").partition("?")
        if "mode=memory" in options or engine.url.query.get("mode") == "memory":
            return None
        database = path
    return None if database in ("", ":memory:") else f"{database}-writer.lock"


class _SerializedSession(Session):
    """On SQLite, one write transaction at a time (see WriteLock)."""

    def __init__(self, *args: Any, write_lock: WriteLock, **kwargs: Any):
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
def core_transaction(
    sessions: sessionmaker[Session], *, single_statement_writes: bool = False
) -> Iterator[Connection]:
    """A Core connection in one transaction, for hot paths that skip the ORM; on SQLite
    it queues on the same writer lock as the sessions.

    `single_statement_writes`: the caller writes only in single statements, each atomic
    by itself, on PostgreSQL; the connection then runs in autocommit there, which saves
    the BEGIN and COMMIT round trips."""
    engine = sessions.kw["bind"]
    lock = write_lock(engine)
    if single_statement_writes and engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
        return
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
    lock = write_lock(engine)
    if lock is not None:
        return sessionmaker(
            engine, class_=_SerializedSession, expire_on_commit=False, write_lock=lock
        )
    return sessionmaker(engine, expire_on_commit=False)


_LOCKS: dict[str, WriteLock] = {}
_LOCKS_GUARD = threading.Lock()


def _reset_after_fork() -> None:
    # a forked worker has one thread: a lock some parent thread held at the fork would
    # never be released in the child
    global _LOCKS_GUARD
    _LOCKS_GUARD = threading.Lock()
    for lock in _LOCKS.values():
        lock.reset_threads()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)
