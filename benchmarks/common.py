"""Helpers the benchmark scripts share: percentiles, free ports, a throwaway PG schema."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, text

from bot.storage.db import make_engine


def pct(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_url() -> str | None:
    """VIRTSEC_BENCH_POSTGRES_URL, else VIRTSEC_TEST_POSTGRES_URL, else None."""
    return (
        os.environ.get("VIRTSEC_BENCH_POSTGRES_URL")
        or os.environ.get("VIRTSEC_TEST_POSTGRES_URL")
        or None
    )


@contextmanager
def postgres_schema(url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh schema (dropped afterwards): yields its URL and an engine on it."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, timeout=600)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    schema_url = f"{url}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(schema_url, timeout=600)  # bulk loads run long
    try:
        yield schema_url, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _sqlite_value(value: Any) -> Any:
    """Values as SQLAlchemy stores them in SQLite (dates as text, booleans as 0/1)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def bulk_insert(
    engine: Engine, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Load many rows fast: COPY on PostgreSQL, batched executemany on SQLite."""
    names = ", ".join(columns)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            cur.execute("BEGIN")
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) >= 50_000:
                    cur.executemany(sql, batch)
                    batch.clear()
            cur.executemany(sql, batch)
            cur.execute("COMMIT")
        raw.commit()
    finally:
        raw.close()


def post_timed(
    conn: http.client.HTTPConnection, port: int, body: str | bytes, headers: dict[str, str]
) -> tuple[http.client.HTTPConnection, bool, float]:
    """POST to /slack/events on a keep-alive connection: (connection to reuse, 200?, seconds).

    A failed request closes the connection and returns a fresh one.
    """
    t0 = time.perf_counter()
    try:
        conn.request("POST", "/slack/events", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return conn, resp.status == 200, time.perf_counter() - t0
    except (OSError, http.client.HTTPException):
        conn.close()
        return (
            http.client.HTTPConnection("127.0.0.1", port, timeout=10),
            False,
            time.perf_counter() - t0,
        )


def wait_healthy(port: int, proc: subprocess.Popen[Any], path: str) -> None:
    """Wait (up to 60 s) until the server on `port` answers `path`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers (405/404 on the bare app's probe path is fine)
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")
