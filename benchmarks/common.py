"""Helpers the benchmark scripts share: percentiles, free ports, a throwaway PG schema."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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
    return (os.environ.get("VIRTSEC_BENCH_POSTGRES_URL")
            or os.environ.get("VIRTSEC_TEST_POSTGRES_URL") or None)


@contextmanager
def postgres_schema(url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh schema (dropped afterwards): yields its URL and an engine on it."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    schema_url = f"{url}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(schema_url)
    try:
        yield schema_url, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
