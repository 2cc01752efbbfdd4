"""Small facts every process reads (shared_state): the knowledge base in use, the version
of the team aliases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.sql import insert_ignoring_conflicts
from bot.storage.tables import SharedState


def read_shared(session: Session, key: str) -> str | None:
    """The value recorded under a key, or None."""
    return session.scalar(select(SharedState.value).where(SharedState.key == key))


def record_shared(session: Session, key: str, value: str, at: datetime) -> None:
    """Record (or replace) the value under a key."""
    stmt = insert_ignoring_conflicts(session, SharedState).values(
        key=key, value=value, updated_at=at
    )
    session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_at": at})
    )
