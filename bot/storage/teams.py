"""Everything stored for one Slack workspace (team): counted, or deleted for good."""

from __future__ import annotations

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from bot.storage.sql import rowcount
from bot.storage.tables import Base

#: the installation's own record (bot.workspaces), not the workspace's data: it outlives a
#: purge, so that a purged but still installed workspace is still found
NOT_TEAM_DATA = {"workspaces"}


def team_tables() -> list[Table]:
    """Every table of a workspace's data, children before the tables they point to."""
    return [
        t
        for t in reversed(Base.metadata.sorted_tables)
        if "team_id" in t.c and t.name not in NOT_TEAM_DATA
    ]


class TeamData:
    """A workspace's rows in every table, in a caller's session."""

    def __init__(self, session: Session):
        self.session = session

    def counts(self, team_id: str) -> dict[str, int]:
        """Rows per table (tables with none left out)."""
        found = {}
        for table in team_tables():
            n = self.session.scalar(
                select(func.count()).select_from(table).where(table.c.team_id == team_id)
            )
            if n:
                found[table.name] = int(n)
        return found

    def purge(self, team_id: str) -> dict[str, int]:
        """Delete every row of the workspace; rows deleted per table."""
        deleted = {}
        for table in team_tables():
            n = rowcount(self.session.execute(delete(table).where(table.c.team_id == team_id)))
            if n:
                deleted[table.name] = n
        return deleted
