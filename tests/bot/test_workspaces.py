"""Installs, uninstalls, the grace period, and the rotation lease, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.tables import Subscription, TeamAlias, Workspace
from bot.workspaces import Workspaces
from tests.fakes.clock import Clock

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def subscribe(sessions: sessionmaker[Session], team: str, channel: str) -> None:
    with sessions.begin() as session:
        session.add(
            Subscription(
                team_id=team,
                channel_id=channel,
                post_time="09:00",
                timezone="UTC",
                days="everyday",
                created_by="U1",
                created_at=START,
                updated_at=START,
            )
        )
        session.add(
            TeamAlias(
                team_id=team,
                key=f"k{channel}",
                concept_id="vm-escape",
                source="admin",
                created_by="U1",
                created_at=START,
            )
        )


def test_an_uninstall_stops_schedules_and_the_data_goes_after_the_grace_period(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(START)
    workspaces = Workspaces(sessions, clock, keep=timedelta(days=30))
    for team in ("TA", "TB"):
        workspaces.installed(team)
        subscribe(sessions, team, f"C{team}")
    assert workspaces.uninstalled("TA") == 1
    assert workspaces.uninstalled("TA") == 0  # Slack may send both events: no harm
    clock.advance(days=29)
    assert workspaces.purge_departed() == []
    assert [team for team, _ in workspaces.departed()] == ["TA"]
    clock.advance(days=1, seconds=1)
    assert workspaces.purge_departed() == ["TA"]
    with sessions.begin() as session:
        assert session.scalars(select(Subscription.team_id)).all() == ["TB"]
        assert session.scalars(select(TeamAlias.team_id)).all() == ["TB"]
        assert session.get(Workspace, "TA") is None
    assert workspaces.departed() == []


def test_a_reinstall_within_the_grace_period_keeps_everything(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(START)
    workspaces = Workspaces(sessions, clock, keep=timedelta(days=30))
    workspaces.installed("TA", "E1")
    subscribe(sessions, "TA", "C1")
    workspaces.uninstalled("TA")
    clock.advance(days=10)
    workspaces.installed("TA", "E1")
    clock.advance(days=60)
    assert workspaces.purge_departed() == []
    assert workspaces.enterprise_of("TA") == "E1"
    with sessions.begin() as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.team_id == "TA" and sub.enabled is False  # an admin turns it on again


def test_one_process_at_a_time_holds_a_workspaces_rotation(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(START)
    workspaces = Workspaces(sessions, clock)
    lease = timedelta(seconds=30)
    first = workspaces.take_rotation("TA", lease)  # even before the install row exists
    assert first is not None
    assert workspaces.take_rotation("TA", lease) is None
    assert workspaces.take_rotation("TB", lease) is not None  # another workspace
    workspaces.end_rotation("TA", first)
    second = workspaces.take_rotation("TA", lease)
    assert second is not None
    clock.advance(seconds=31)  # a holder too slow: its lease runs out and is taken over
    third = workspaces.take_rotation("TA", lease)
    assert third is not None
    workspaces.end_rotation("TA", second)  # the slow one finishes: the new lease stands
    assert workspaces.take_rotation("TA", lease) is None
    workspaces.end_rotation("TA", third)
    assert workspaces.take_rotation("TA", lease) is not None
