"""Lookup that learns: picks become team aliases, gaps are listed, old queries expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import Forget, Gaps, Lookup, Teach, parse
from bot.core import Core
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller, GapsResult, LookupReply, Notice, Picked
from bot.storage.db import make_engine, session_factory
from bot.storage.tables import LookupEvent, LookupPick
from tests.conftest import engine_url
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel

UNSURE = "firewall between vms"  # no confident answer; suggests virtual-network-security
PICKED = "virtual-network-security"


CORES: list[Core] = []


def make_core(kb: KnowledgeBase, sessions: sessionmaker[Session], clock: Clock) -> Core:
    core = Core(Library(lambda: kb), sessions, RecordingChannel(), clock=clock)
    CORES.append(core)
    return core


@pytest.fixture(autouse=True)
def idle_cores(running_apps: list[Callable[[], object]]) -> None:
    """Every core a test made writes what it remembered before the database goes."""

    def idle() -> None:
        while CORES:
            assert CORES.pop().wait_idle()

    running_apps.append(idle)


def person(user: str, team: str = "T1", admin: bool = False) -> Caller:
    return Caller(team, user, "C1", is_admin=admin)


def answered(core: Core, caller: Caller, query: str) -> str | None:
    reply = core.execute(Lookup(query), caller)
    assert isinstance(reply, LookupReply)
    return reply.card.concept.id if reply.card else None


def test_two_people_picking_the_same_suggestion_teach_their_team_only(
    kb: KnowledgeBase, sessions: sessionmaker[Session]
) -> None:
    core = make_core(kb, sessions, Clock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    unsure = core.execute(Lookup(UNSURE), person("U1"))
    assert isinstance(unsure, LookupReply) and unsure.card is None
    assert PICKED in [m.concept.id for m in unsure.lookup.suggestions]
    first = core.learning.pick(person("U1"), UNSURE, PICKED)
    assert isinstance(first, Picked) and not first.learned
    assert answered(core, person("U3"), UNSURE) is None  # one pick teaches nothing
    again = core.learning.pick(person("U1"), UNSURE, PICKED)  # the same person twice
    assert isinstance(again, Picked) and not again.learned
    second = core.learning.pick(person("U2"), "Firewall between VMs?", PICKED)
    assert isinstance(second, Picked) and second.learned
    reply = core.execute(Lookup("FIREWALL between  VMs"), person("U3"))
    assert isinstance(reply, LookupReply) and reply.learned
    assert reply.card is not None and reply.card.concept.id == PICKED
    assert answered(core, person("U9", team="T2"), UNSURE) is None  # another team
    core.wait_idle()


def test_an_admin_pick_teaches_at_once_and_an_admin_pick_overrides(
    kb: KnowledgeBase, sessions: sessionmaker[Session]
) -> None:
    core = make_core(kb, sessions, Clock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    for user in ("U1", "U2"):
        core.learning.pick(person(user), UNSURE, "kubernetes-network-policies")
    assert answered(core, person("U3"), UNSURE) == "kubernetes-network-policies"
    picked = core.learning.pick(person("UADMIN", admin=True), UNSURE, PICKED)
    assert isinstance(picked, Picked) and picked.learned
    assert answered(core, person("U3"), UNSURE) == PICKED


def test_no_pick_or_teaching_gets_round_the_numeral_guard(
    kb: KnowledgeBase, sessions: sessionmaker[Session]
) -> None:
    core = make_core(kb, sessions, Clock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    admin = person("UADMIN", admin=True)
    refused = core.execute(Teach("type 2", "type-1-hypervisor"), admin)
    assert isinstance(refused, Notice) and refused.error and "numbers" in refused.text
    for user in ("U1", "U2"):
        picked = core.learning.pick(person(user), "type 2 risk", "type-1-hypervisor")
        assert isinstance(picked, Picked) and not picked.learned
    assert answered(core, person("U3"), "type 2 risk") != "type-1-hypervisor"


def test_teach_and_forget_are_for_admins_and_check_the_concept_id(
    kb: KnowledgeBase, sessions: sessionmaker[Session]
) -> None:
    core = make_core(kb, sessions, Clock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    admin = person("UADMIN", admin=True)
    assert parse(f"teach {UNSURE} = {PICKED}") == Teach(UNSURE, PICKED)
    assert parse("forget firewall between vms") == Forget(UNSURE)
    refused = core.execute(Teach(UNSURE, PICKED), person("U1"))
    assert isinstance(refused, Notice) and refused.error and "admin" in refused.text.lower()
    unknown = core.execute(Teach(UNSURE, "virtual-netwrk-security"), admin)
    assert isinstance(unknown, Notice) and unknown.error
    assert "no concept with the id" in unknown.text and f"`{PICKED}`" in unknown.text
    assert answered(core, person("U1"), UNSURE) is None
    taught = core.execute(Teach(UNSURE, PICKED), admin)
    assert isinstance(taught, Notice) and not taught.error
    assert answered(core, person("U1"), UNSURE) == PICKED
    assert isinstance(core.execute(Forget(UNSURE), person("U1")), Notice)  # refused
    assert answered(core, person("U1"), UNSURE) == PICKED
    forgot = core.execute(Forget(UNSURE), admin)
    assert isinstance(forgot, Notice) and "Forgot" in forgot.text
    assert answered(core, person("U1"), UNSURE) is None
    nothing = core.execute(Forget(UNSURE), admin)
    assert isinstance(nothing, Notice) and "was not a taught query" in nothing.text


def test_another_process_answers_with_the_alias_after_its_next_look(
    kb: KnowledgeBase, engine: Engine
) -> None:
    clock = Clock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    here = make_core(kb, session_factory(engine), clock)
    other_engine = make_engine(engine_url(engine))
    try:
        there = make_core(kb, session_factory(other_engine), clock)
        assert answered(there, person("U3"), UNSURE) is None
        here.execute(Teach(UNSURE, PICKED), person("UADMIN", admin=True))
        with session_factory(other_engine).begin() as session:
            there.learning.look(session)  # what its background look does every 2 s
        assert answered(there, person("U3"), UNSURE) == PICKED
        there.wait_idle()
    finally:
        other_engine.dispose()


def test_gaps_count_unanswered_and_refused_queries_of_the_last_30_days(
    kb: KnowledgeBase, sessions: sessionmaker[Session]
) -> None:
    clock = Clock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    core = make_core(kb, sessions, clock)
    core.execute(Lookup("what is a buffer"), person("U1"))  # 40 days ago: out of the window
    clock.advance(days=40)
    for user in ("U1", "U2", "U3"):
        core.execute(Lookup(UNSURE), person(user))
    core.execute(Lookup("what is the capital of France"), person("U1"))
    core.execute(Lookup("what is the capital of <!channel>"), person("U1", team="T2"))
    core.learning.none_of_these(person("U2"), UNSURE)
    core.execute(Lookup("what is vm escape"), person("U1"))  # answered: not a gap
    assert core.wait_idle()
    gaps = core.execute(Gaps(), person("UADMIN", admin=True))
    assert isinstance(gaps, GapsResult)
    assert [(g.query, g.times) for g in gaps.unanswered] == [
        (UNSURE, 3),
        ("what is the capital of France", 1),
    ]
    assert [(g.query, g.times) for g in gaps.refused] == [(UNSURE, 1)]
    refused = core.execute(Gaps(), person("U1"))
    assert isinstance(refused, Notice) and refused.error


def test_queries_and_picks_older_than_90_days_are_deleted(
    kb: KnowledgeBase, sessions: sessionmaker[Session]
) -> None:
    clock = Clock(datetime(2026, 1, 1, 9, tzinfo=UTC))
    core = make_core(kb, sessions, clock)
    core.execute(Lookup(UNSURE), person("U1"))
    core.learning.pick(person("U1"), UNSURE, PICKED)
    clock.advance(days=80)
    core.execute(Lookup("what is the capital of France"), person("U1"))
    core.wait_idle()
    clock.advance(days=11)  # the first ones are 91 days old, the last one 11
    core.tidy()
    with sessions() as session:
        kept = session.scalars(select(LookupEvent.query)).all()
        picks = session.scalar(select(func.count()).select_from(LookupPick))
    assert kept == ["what is the capital of France"] and picks == 0
