"""One mechanism for work that must happen once across processes: claim, lease, done.

A job (a channel's daily post for a slot, its weekly report for a week) inserts a row keyed
by what must be unique, with a random claim token. Whoever inserted it marks it `sending`
just before the message leaves for Slack, then `posted` with its token. A claim whose holder
died before sending is retaken once its lease has run out; one that died while sending is
never retaken (the message may be on screen). A holder that Slack turned down releases it for
the next tick. Repositories never commit: the caller owns the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from bot.storage.sql import insert_ignoring_conflicts, rowcount
from bot.storage.tables import ClaimStatus, DailyPost, WeeklyReport

Claimable = type[DailyPost] | type[WeeklyReport]


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Claims:
    """Claims on one table whose rows are keyed by `key` columns."""

    def __init__(self, session: Session, model: Claimable, lease: timedelta):
        self.session = session
        self.model = model
        self.lease = lease

    def acquire(
        self,
        key: Mapping[str, Any],
        values: Callable[[], Mapping[str, Any]],
        token: str,
        now: datetime,
    ) -> int | None:
        """Claim the row for `key` (inserting it with `values()`), or take over a claim whose
        lease ran out; the row id, or None when it is done or another process holds it."""
        model = self.model
        where = and_(*(getattr(model, k) == v for k, v in key.items()))
        row = cast(DailyPost | WeeklyReport | None, self.session.scalar(select(model).where(where)))
        if row is not None:
            if row.status != ClaimStatus.CLAIMED or now - aware(row.claimed_at) < self.lease:
                return None
            return row.id if self._retake(row.id, row.claim_token, token, now) else None
        stmt = (
            insert_ignoring_conflicts(self.session, model)
            .values(
                **key,
                **values(),
                status=ClaimStatus.CLAIMED,
                claim_token=token,
                claimed_at=now,
            )
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(model.id)
        )
        row_id = self.session.execute(stmt).scalar_one_or_none()
        return None if row_id is None else int(row_id)

    def sending(self, row_id: int, token: str) -> bool:
        """The message is about to leave: from now on a crash leaves the outcome unknown."""
        return self._set(row_id, token, status=ClaimStatus.SENDING)

    def done(self, row_id: int, token: str, ts: str | None, now: datetime) -> bool:
        """Mark a claim done (its Slack message, if any); False if the claim was lost."""
        return self._set(row_id, token, status=ClaimStatus.POSTED, message_ts=ts, posted_at=now)

    def give_up(self, row_id: int, token: str, status: ClaimStatus) -> bool:
        """End a claim without success for good (FAILED, or UNKNOWN: maybe sent)."""
        return self._set(row_id, token, status=status)

    def release(self, row_id: int, token: str, now: datetime) -> bool:
        """Give a claim back after Slack turned it down: the next tick may take it at once."""
        return self._set(row_id, token, status=ClaimStatus.CLAIMED, claimed_at=now - self.lease)

    def _retake(self, row_id: int, old_token: str, new_token: str, now: datetime) -> bool:
        # only a claim that never reached `sending`: its message was never handed to Slack
        return self._set(
            row_id, old_token, (ClaimStatus.CLAIMED,), claim_token=new_token, claimed_at=now
        )

    def _set(
        self,
        row_id: int,
        token: str,
        statuses: tuple[ClaimStatus, ...] = (ClaimStatus.CLAIMED, ClaimStatus.SENDING),
        **values: Any,
    ) -> bool:
        model = self.model
        result = self.session.execute(
            update(model)
            .where(model.id == row_id, model.claim_token == token, model.status.in_(statuses))
            .values(**values)
        )
        return rowcount(result) == 1
