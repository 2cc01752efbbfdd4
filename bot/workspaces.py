"""The workspaces the app is installed in, as the core sees them (OAuth distribution).

An uninstall stops the workspace's schedules at once and keeps its study data for a grace
period (`Settings.purge_after_days`): reinstalling within it finds everything as it was;
after it, the scheduler deletes the data (`purge_departed`), as `virtsec team purge` does at
once. A token rotation in progress is leased here, so that of two processes finding the
same token about to expire, one rotates it and the other waits for the new one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.claims import aware
from bot.storage.sql import insert_ignoring_conflicts, rowcount
from bot.storage.tables import Subscription, Workspace
from bot.storage.teams import TeamData

logger = logging.getLogger(__name__)


class Workspaces:
    """Installs, uninstalls and the data of workspaces that left."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        keep: timedelta = timedelta(days=30),
    ):
        self.sessions = sessions
        self.clock = clock
        self.keep = keep

    def installed(self, team_id: str, enterprise_id: str | None = None) -> None:
        """The app was installed (or reinstalled): a pending deletion is called off."""
        now = self.clock()
        with self.sessions.begin() as session:
            self._row(session, team_id)
            session.execute(
                update(Workspace)
                .where(Workspace.team_id == team_id)
                .values(installed_at=now, uninstalled_at=None, enterprise_id=enterprise_id)
            )

    def enterprise_of(self, team_id: str) -> str | None:
        """The Enterprise Grid organization the workspace belongs to, if any."""
        with self.sessions.begin() as session:
            return session.scalar(
                select(Workspace.enterprise_id).where(Workspace.team_id == team_id)
            )

    def uninstalled(self, team_id: str, *, purge_later: bool = True) -> int:
        """The app was uninstalled (or its bot token revoked): the workspace's schedules
        stop, and (`purge_later`) its data is deleted once the grace period is over. How
        many schedules stopped."""
        now = self.clock()
        with self.sessions.begin() as session:
            if purge_later:
                self._row(session, team_id)
                session.execute(
                    update(Workspace)
                    .where(Workspace.team_id == team_id, Workspace.uninstalled_at.is_(None))
                    .values(uninstalled_at=now)
                )
            stopped = rowcount(
                session.execute(
                    update(Subscription)
                    .where(Subscription.team_id == team_id, Subscription.enabled.is_(True))
                    .values(enabled=False, updated_at=now)
                )
            )
        logger.info("workspace %s uninstalled: %s schedule(s) stopped", team_id, stopped)
        return stopped

    def departed(self) -> list[tuple[str, datetime]]:
        """Uninstalled workspaces whose data is still kept, and since when."""
        with self.sessions.begin() as session:
            rows = session.execute(
                select(Workspace.team_id, Workspace.uninstalled_at)
                .where(Workspace.uninstalled_at.is_not(None))
                .order_by(Workspace.uninstalled_at)
            ).all()
        return [(team, at) for team, at in rows if at is not None]

    def purge_departed(self) -> list[str]:
        """Delete the data of every workspace uninstalled longer ago than the grace period
        (and not reinstalled since); the workspaces purged."""
        cutoff = self.clock() - self.keep
        with self.sessions.begin() as session:
            due = list(
                session.scalars(select(Workspace.team_id).where(Workspace.uninstalled_at < cutoff))
            )
        purged = []
        for team_id in due:
            with self.sessions.begin() as session:
                # still gone? (a reinstall a moment ago calls the deletion off)
                still = session.scalar(
                    select(Workspace.team_id)
                    .where(Workspace.team_id == team_id, Workspace.uninstalled_at < cutoff)
                    .with_for_update()
                )
                if still is None:
                    continue
                deleted = TeamData(session).purge(team_id)
                session.execute(delete(Workspace).where(Workspace.team_id == team_id))
            logger.info("workspace %s: data deleted after the grace period: %s", team_id, deleted)
            purged.append(team_id)
        return purged

    def installed_after(self, team_id: str, moment: int) -> bool:
        """True when the workspace installed the app after `moment` (whole seconds since
        the epoch, as Slack's event_time): news of an uninstall from before it is stale.
        An install in that very second does not count as after."""
        with self.sessions.begin() as session:
            installed = session.scalar(
                select(Workspace.installed_at).where(Workspace.team_id == team_id)
            )
        return installed is not None and int(aware(installed).timestamp()) > moment

    def take_rotation(self, team_id: str, lease: timedelta) -> str | None:
        """Lease the rotation of the workspace's token: the lease's owner id, or None while
        another process holds it."""
        now = self.clock()
        owner = uuid.uuid4().hex
        with self.sessions.begin() as session:
            self._row(session, team_id)
            taken = session.execute(
                update(Workspace)
                .where(
                    Workspace.team_id == team_id,
                    or_(Workspace.rotating_until.is_(None), Workspace.rotating_until < now),
                )
                .values(rotating_until=now + lease, rotation_owner=owner)
            )
            return owner if rowcount(taken) == 1 else None

    def rotation_ends(self, team_id: str) -> datetime | None:
        """When the current lease on the workspace's rotation runs out, if one is held."""
        with self.sessions.begin() as session:
            until = session.scalar(
                select(Workspace.rotating_until).where(Workspace.team_id == team_id)
            )
        return None if until is None else aware(until)

    def hold_rotation(self, team_id: str, owner: str, hold: timedelta) -> None:
        """Keep the lease for `hold` from now (nobody should try again before), if it is
        still this owner's."""
        with self.sessions.begin() as session:
            session.execute(
                update(Workspace)
                .where(Workspace.team_id == team_id, Workspace.rotation_owner == owner)
                .values(rotating_until=self.clock() + hold)
            )

    def end_rotation(self, team_id: str, owner: str) -> None:
        """Give the lease back (if it is still this owner's: one that ran out may have been
        taken since)."""
        with self.sessions.begin() as session:
            session.execute(
                update(Workspace)
                .where(Workspace.team_id == team_id, Workspace.rotation_owner == owner)
                .values(rotating_until=None, rotation_owner=None)
            )

    def _row(self, session: Session, team_id: str) -> None:
        session.execute(
            insert_ignoring_conflicts(session, Workspace)
            .values(team_id=team_id)
            .on_conflict_do_nothing(index_elements=["team_id"])
        )
