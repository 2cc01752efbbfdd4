"""What lookup learns from: unanswered queries, refused suggestions, picks and team aliases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.sql import insert_ignoring_conflicts, rowcount
from bot.storage.tables import LookupEvent, LookupPick, TeamAlias

MAX_TEXT = 200


class Event(NamedTuple):
    """A lookup to remember: who, which kind of gap, the query's key and its text."""

    team_id: str
    user_id: str
    kind: str
    key: str
    query: str
    at: datetime


class GapRow(NamedTuple):
    """A query asked `times` times by `people` people, as last typed."""

    kind: str
    key: str
    query: str
    times: int
    people: int


class AliasRow(NamedTuple):
    """A team's taught query and the concept it answers."""

    team_id: str
    key: str
    concept_id: str


class LookupLedger:
    """Rows of lookup_events, lookup_picks and team_aliases, in a caller's session."""

    def __init__(self, session: Session):
        self.session = session

    def record(self, events: Sequence[Event]) -> None:
        """Remember unanswered or refused lookups."""
        self.session.add_all(
            LookupEvent(
                team_id=e.team_id,
                user_id=e.user_id,
                kind=e.kind,
                key=e.key[:MAX_TEXT],
                query=e.query[:MAX_TEXT],
                created_at=e.at,
            )
            for e in events
        )

    def pick(self, team_id: str, key: str, user_id: str, concept_id: str, at: datetime) -> None:
        """Record a person's pick for a query (their latest pick counts)."""
        stmt = insert_ignoring_conflicts(self.session, LookupPick).values(
            team_id=team_id,
            key=key[:MAX_TEXT],
            user_id=user_id,
            concept_id=concept_id,
            picked_at=at,
        )
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["team_id", "key", "user_id"],
                set_={"concept_id": concept_id, "picked_at": at},
            )
        )

    def pickers(self, team_id: str, key: str, concept_id: str) -> int:
        """How many different people of the team picked that concept for the query."""
        return int(
            self.session.scalar(
                select(func.count()).where(
                    LookupPick.team_id == team_id,
                    LookupPick.key == key[:MAX_TEXT],
                    LookupPick.concept_id == concept_id,
                )
            )
            or 0
        )

    def teach(
        self,
        team_id: str,
        key: str,
        concept_id: str,
        source: str,
        by: str,
        at: datetime,
        *,
        replace: bool,
    ) -> bool:
        """Make a query a team alias; `replace` False keeps an alias already taught. True
        when the alias now answers `concept_id`."""
        stmt = insert_ignoring_conflicts(self.session, TeamAlias).values(
            team_id=team_id,
            key=key[:MAX_TEXT],
            concept_id=concept_id,
            source=source,
            created_by=by,
            created_at=at,
        )
        if replace:
            stmt = stmt.on_conflict_do_update(
                index_elements=["team_id", "key"],
                set_={
                    "concept_id": concept_id,
                    "source": source,
                    "created_by": by,
                    "created_at": at,
                },
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["team_id", "key"])
        self.session.execute(stmt)
        taught = self.session.scalar(
            select(TeamAlias.concept_id).where(
                TeamAlias.team_id == team_id, TeamAlias.key == key[:MAX_TEXT]
            )
        )
        return taught == concept_id

    def forget(self, team_id: str, key: str) -> bool:
        """Remove a team alias; False when there was none."""
        result = self.session.execute(
            delete(TeamAlias).where(TeamAlias.team_id == team_id, TeamAlias.key == key[:MAX_TEXT])
        )
        return rowcount(result) > 0

    def aliases(self) -> list[AliasRow]:
        """Every team's aliases."""
        rows = self.session.execute(select(TeamAlias.team_id, TeamAlias.key, TeamAlias.concept_id))
        return [AliasRow(*row) for row in rows]

    def alias_count(self, team_id: str) -> int:
        """How many aliases a team taught."""
        return int(
            self.session.scalar(select(func.count()).where(TeamAlias.team_id == team_id)) or 0
        )

    def gaps(
        self,
        team_id: str,
        kind: str,
        since: datetime,
        limit: int,
        until: datetime | None = None,
        min_people: int = 1,
    ) -> list[GapRow]:
        """A team's most frequent queries of one kind in a time span, most asked first,
        asked by at least `min_people` different people."""
        latest = func.max(LookupEvent.id)
        span = [LookupEvent.created_at >= since]
        if until is not None:
            span.append(LookupEvent.created_at < until)
        people = func.count(LookupEvent.user_id.distinct())
        counted = (
            select(
                LookupEvent.key, func.count().label("n"), people.label("p"), latest.label("last")
            )
            .where(LookupEvent.team_id == team_id, LookupEvent.kind == kind, *span)
            .group_by(LookupEvent.key)
            .having(people >= min_people)
            .order_by(func.count().desc(), LookupEvent.key)
            .limit(limit)
            .subquery()
        )
        rows = self.session.execute(
            select(counted.c.key, LookupEvent.query, counted.c.n, counted.c.p)
            .join(LookupEvent, LookupEvent.id == counted.c.last)
            .order_by(counted.c.n.desc(), counted.c.key)
        )
        return [GapRow(kind, key, query, int(n), int(p)) for key, query, n, p in rows]

    def forget_before(self, cutoff: datetime) -> int:
        """Delete lookup events and picks older than the cutoff; how many rows."""
        events = self.session.execute(delete(LookupEvent).where(LookupEvent.created_at < cutoff))
        picks = self.session.execute(delete(LookupPick).where(LookupPick.picked_at < cutoff))
        return rowcount(events) + rowcount(picks)
