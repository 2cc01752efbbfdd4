"""Shared fixtures: the real bundled knowledge base (loaded once) and test databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot import knowledge_base
from bot.knowledge_base import KnowledgeBase
from bot.lookup import ConceptIndex, build_index
from bot.storage.db import make_engine, session_factory
from bot.storage.migrate import upgrade


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The bundled knowledge base (knowledge/), validated."""
    return knowledge_base.load([knowledge_base.bundled_knowledge_dir()])


@pytest.fixture(scope="session")
def index(kb: KnowledgeBase) -> ConceptIndex:
    """The lookup index over the bundled knowledge base."""
    return build_index(kb)


# --------------------------------------------------------------------------
# Databases: every test that takes `engine` runs on SQLite, and on PostgreSQL
# when VIRTSEC_TEST_POSTGRES_URL is set (.ci/run sets it); otherwise the
# PostgreSQL run is skipped with a visible reason.

POSTGRES_URL = os.environ.get("VIRTSEC_TEST_POSTGRES_URL", "")


@pytest.fixture
def running_apps() -> Iterator[list[Callable[[], object]]]:
    """How to stop the apps a test started: a database is torn down only after they stop
    (a connection returned after its engine was disposed would never be closed)."""
    stops: list[Callable[[], object]] = []
    yield stops
    for stop in stops:
        stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, running_apps: list[Callable[[], object]]
) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path}/test.db")
        upgrade(eng)
        yield eng
        stop_all(running_apps)
        eng.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL: set VIRTSEC_TEST_POSTGRES_URL (e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test) to run this on it"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    # the schema travels in the URL, so processes started by a test can use it too
    eng = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    upgrade(eng)
    yield eng
    stop_all(running_apps)
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def stop_all(stops: list[Callable[[], object]]) -> None:
    """Stop every app started on a database, once."""
    while stops:
        stops.pop()()


def engine_url(engine: Engine) -> str:
    """The URL of a test database, password included (for processes a test starts)."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test database."""
    return session_factory(engine)
