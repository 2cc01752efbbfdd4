"""Requests that must act once however often they arrive: Slack redelivers an event it
thinks was missed, and a signed slash command can be replayed within its 5 minutes. The
first arrival is recorded in the database (a unique key), so every process agrees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.sql import insert_ignoring_conflicts, rowcount
from bot.storage.tables import HandledRequest

KEEP = timedelta(days=1)  # Slack redelivers within minutes; replays expire after 5
MAX_KEY = 200


class Once:
    """First arrivals of request keys ("event:Ev123", "trigger:T1:123.456")."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self.sessions = sessions
        self.clock = clock

    def first(self, key: str) -> bool:
        """Record a key; False when it was recorded before (by any process)."""
        with self.sessions.begin() as session:
            stmt = (
                insert_ignoring_conflicts(session, HandledRequest)
                .values(key=key[:MAX_KEY], handled_at=self.clock())
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(HandledRequest.key)
            )
            return session.execute(stmt).first() is not None

    def forget_old(self) -> int:
        """Delete keys older than a day; how many."""
        with self.sessions.begin() as session:
            result = session.execute(
                delete(HandledRequest).where(HandledRequest.handled_at < self.clock() - KEEP)
            )
            return rowcount(result)
