"""Small SQL helpers the repositories share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def rowcount(result: Any) -> int:
    """Rows an UPDATE touched (CursorResult.rowcount; INSERTs use RETURNING instead)."""
    return int(result.rowcount)


def insert_ignoring_conflicts(session: Session, table: Any) -> Any:
    """A dialect INSERT that supports ON CONFLICT (SQLite and PostgreSQL)."""
    name = session.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
