"""A budget of outgoing calls shared by every process: each call takes the next turn of its
bucket from the database, so two web instances and the scheduler together stay within a
rate an outside service allows, and a "slow down" heard by one is obeyed by all.

The rule is the generic cell rate algorithm: a bucket allows one call per `interval` on
average and `burst` calls at once. Its row keeps one number, `next_at`: the time at which
the bucket would be empty again. A call may go at
`max(next_at, now) - (burst - 1) * interval`, and moves `next_at` on by one interval.
Taking a turn is one conditional UPDATE, so concurrent callers never get the same turn."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.sql import insert_ignoring_conflicts
from bot.storage.tables import CallPace

MAX_KEY = 100


@dataclass(frozen=True)
class Rate:
    """One call per `interval` seconds on average, up to `burst` at once."""

    interval: float
    burst: int = 1

    @property
    def tolerance(self) -> float:
        """How far ahead of now a bucket may run before a call must wait."""
        return (self.burst - 1) * self.interval


@dataclass(frozen=True)
class Turn:
    """A call's turn: go after `wait` seconds; `granted` False means the wait would be
    longer than the caller can afford, and no turn was taken."""

    granted: bool
    wait: float  # seconds from when the turn was asked for
    at: float = 0.0  # the turn's time on the pacer's clock (sleep until then, not `wait`:
    # the database may have kept the caller a while)


class Pacer:
    """Turns of shared buckets, keyed by (scope, bucket): e.g. (a workspace, "chat.update")."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], float] = time.time
    ) -> None:
        self.sessions = sessions
        self.clock = clock

    def take(
        self, scope: str, bucket: str, rate: Rate, max_wait: float, not_before: float = 0.0
    ) -> Turn:
        """Take the next turn of a bucket if it comes within `max_wait` seconds (and not
        before the time `not_before`: a call that also waits for another bucket's turn)."""
        scope, bucket = scope[:MAX_KEY], bucket[:MAX_KEY]
        now = self.clock()
        floor = now if not_before <= now else not_before + rate.tolerance
        start = case((CallPace.next_at > floor, CallPace.next_at), else_=literal(floor))
        with self.sessions.begin() as session:
            self._ensure(session, scope, bucket, now)
            granted = session.execute(
                update(CallPace)
                .where(
                    CallPace.scope == scope,
                    CallPace.bucket == bucket,
                    start - rate.tolerance - now <= max_wait,
                )
                .values(next_at=start + rate.interval)
                .returning(CallPace.next_at)
            ).scalar()
            if granted is not None:
                wait = max(0.0, granted - rate.interval - rate.tolerance - now)
                return Turn(True, wait, now + wait)
            next_at = session.execute(
                select(CallPace.next_at).where(CallPace.scope == scope, CallPace.bucket == bucket)
            ).scalar()
            if next_at is None:  # forgotten as idle meanwhile: an empty bucket
                return Turn(True, 0.0, now)
            return Turn(False, max(0.0, max(next_at, floor) - rate.tolerance - now))

    def hold(self, scope: str, bucket: str, rate: Rate, seconds: float) -> None:
        """Nobody calls this bucket for `seconds` (the service said to slow down)."""
        scope, bucket = scope[:MAX_KEY], bucket[:MAX_KEY]
        now = self.clock()
        until = now + seconds + rate.tolerance
        with self.sessions.begin() as session:
            self._ensure(session, scope, bucket, now)
            session.execute(
                update(CallPace)
                .where(
                    CallPace.scope == scope,
                    CallPace.bucket == bucket,
                    CallPace.next_at < until,
                )
                .values(next_at=until)
            )

    def forget_idle(self, older_than: float = 3600.0) -> None:
        """Drop buckets idle for a while (a channel posted to once)."""
        with self.sessions.begin() as session:
            session.execute(delete(CallPace).where(CallPace.next_at < self.clock() - older_than))

    @staticmethod
    def _ensure(session: Session, scope: str, bucket: str, now: float) -> None:
        session.execute(
            insert_ignoring_conflicts(session, CallPace)
            .values(scope=scope, bucket=bucket, next_at=now)
            .on_conflict_do_nothing(index_elements=["scope", "bucket"])
        )
