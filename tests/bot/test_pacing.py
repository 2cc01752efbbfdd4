"""The shared call budget: turns are spaced for every process together, a burst is allowed
up front, a "slow down" holds everyone, and no two callers get the same turn."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import Engine, select

from bot.pacing import Pacer, Rate
from bot.storage.db import make_engine, session_factory
from bot.storage.tables import CallPace
from tests.conftest import engine_url

RATE = Rate(interval=1.0, burst=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_at_once_then_turns_come_one_interval_apart(engine: Engine) -> None:
    clock = Clock()
    pacer = Pacer(session_factory(engine), clock)
    waits = [pacer.take("team", "chat.update", RATE, max_wait=20).wait for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    clock.now += 10  # a quiet spell refills the burst
    assert [pacer.take("team", "chat.update", RATE, 20).wait for _ in range(4)] == [0, 0, 0, 1]


def test_buckets_and_scopes_are_separate(engine: Engine) -> None:
    pacer = Pacer(session_factory(engine), Clock())
    for _ in range(3):
        pacer.take("team", "chat.postMessage:C1", RATE, 20)
    assert pacer.take("team", "chat.postMessage:C1", RATE, 20).wait == 1.0
    assert pacer.take("team", "chat.postMessage:C2", RATE, 20).wait == 0.0
    assert pacer.take("other", "chat.postMessage:C1", RATE, 20).wait == 0.0


def test_a_turn_too_far_off_is_refused_and_not_taken(engine: Engine) -> None:
    clock = Clock()
    pacer = Pacer(session_factory(engine), clock)
    for _ in range(5):
        pacer.take("team", "views.publish", RATE, 20)
    refused = pacer.take("team", "views.publish", RATE, max_wait=2.5)
    assert not refused.granted and refused.wait == 3.0
    # nothing was taken: the next caller who can wait gets the turn that was refused
    assert pacer.take("team", "views.publish", RATE, max_wait=20).wait == 3.0


def test_a_hold_stops_every_process_until_it_ends(engine: Engine) -> None:
    clock = Clock()
    first = Pacer(session_factory(engine), clock)
    # another process: its own engine and connections on the same database
    other_engine = make_engine(engine_url(engine))
    try:
        second = Pacer(session_factory(other_engine), clock)
        first.hold("team", "chat.update", RATE, seconds=30)
        assert second.take("team", "chat.update", RATE, 40).wait == 30.0
        assert not second.take("team", "chat.update", RATE, 20).granted
        clock.now += 31
        assert second.take("team", "chat.update", RATE, 20).wait == 0.0
        # a shorter hold never shortens a longer one
        first.hold("team", "chat.update", RATE, seconds=60)
        first.hold("team", "chat.update", RATE, seconds=5)
        assert second.take("team", "chat.update", RATE, 90).wait == 60.0
    finally:
        other_engine.dispose()


def test_concurrent_callers_never_share_a_turn(engine: Engine) -> None:
    clock = Clock()
    url = engine_url(engine)
    engines = [make_engine(url) for _ in range(2)]
    pacers = [Pacer(session_factory(e), clock) for e in engines]
    waits: list[float] = []
    lock = threading.Lock()

    def caller(k: int) -> None:
        for _ in range(5):
            wait = pacers[k % 2].take("team", "chat.update", RATE, max_wait=100).wait
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    # 40 turns: three at once, then one a second, each given to exactly one caller
    assert sorted(waits) == [0.0, 0.0] + [float(n) for n in range(38)]


def test_idle_buckets_are_forgotten_and_busy_ones_kept(engine: Engine) -> None:
    clock = Clock()
    sessions = session_factory(engine)
    pacer = Pacer(sessions, clock)
    pacer.take("team", "chat.postMessage:C1", RATE, 20)  # posted to once
    clock.now += 2 * 3600
    pacer.take("team", "chat.postMessage:C2", RATE, 20)  # in use
    pacer.forget_idle()
    with sessions() as session:
        kept = session.execute(select(CallPace.bucket)).scalars().all()
    assert kept == ["chat.postMessage:C2"]


def test_a_turn_that_waits_for_another_bucket_counts_from_when_it_goes(
    engine: Engine,
) -> None:
    # one message's updates (every 2 s) behind its method's budget, held for 5 s by a 429:
    # the message's turns are counted from when each update really goes
    clock = Clock()
    pacer = Pacer(session_factory(engine), clock)
    method, message = Rate(interval=1.2, burst=4), Rate(interval=2.0)
    pacer.hold("team", "chat.update", method, seconds=5)
    goes = []
    for _ in range(3):
        wait = pacer.take("team", "chat.update", method, 60).wait
        mine = pacer.take("team", "msg", message, 60, not_before=clock.now + wait)
        goes.append(max(wait, mine.wait))
    assert goes[0] >= 5.0
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(goes)), goes
