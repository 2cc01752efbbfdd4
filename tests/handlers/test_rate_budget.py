"""Slack's rate limits kept by every process together: two apps (two web workers or
instances) on one database share one budget per method, and a 429 that one of them gets
holds the other too. The fake Slack answers any call over Slack's limits with a 429, and
the `fake_slack` fixture fails a test that drew one."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from tests.fakes.slack_api import RATE_LIMITS, FakeSlack
from tests.handlers.conftest import SlackClient
from tests.handlers.test_home import opened

Serve = Callable[..., SlackClient]


def test_a_burst_of_home_tabs_across_two_processes_stays_within_slacks_limit(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    first, second = serve(engine=engine), serve(engine=engine)
    people = 14  # more than Slack's burst of views.publish
    for k in range(people):
        opened((first, second)[k % 2], f"U{k:03d}", f"EvBurst{k}")
    assert fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("views.publish")) == people, timeout=20
    )
    calls = fake_slack.calls_to("views.publish")
    assert sorted(c.args["user_id"] for c in calls) == [f"U{k:03d}" for k in range(people)]
    interval, _burst = RATE_LIMITS["views.publish"]
    spread = calls[-1].at - calls[0].at
    assert spread >= (people - 8 - 2) * interval  # paced after the first 8, not at once


def test_a_429_heard_by_one_process_holds_the_other(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    first, second = serve(engine=engine), serve(engine=engine)
    fake_slack.fail_next("views.publish", status=429, retry_after=2)
    opened(first, "UFIRST", "EvHeld1")
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 1)
    limited_at = fake_slack.calls_to("views.publish")[0].at
    opened(second, "USECOND", "EvHeld2")  # the other process, told nothing directly
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 3, 10)
    calls = fake_slack.calls_to("views.publish")
    # both tabs are published, and neither before Slack's Retry-After ran out
    assert sorted(c.args["user_id"] for c in calls[1:]) == ["UFIRST", "USECOND"]
    assert all(c.at - limited_at >= 1.9 for c in calls[1:]), [c.at - limited_at for c in calls]


def test_posts_to_one_channel_from_two_processes_keep_slacks_pace(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    first, second = serve(engine=engine), serve(engine=engine)
    shares = 6  # "Share to channel" clicks on two processes, into one channel
    for k in range(shares):
        reply = (first, second)[k % 2].click("concept_share", "hypervisor", user=f"U{k}")
        assert reply.status == 200
    assert fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("chat.postMessage")) == shares, timeout=15
    )
    calls = fake_slack.calls_to("chat.postMessage")
    assert {c.args["channel"] for c in calls} == {"C1"}
    interval, _burst = RATE_LIMITS["chat.postMessage"]
    assert calls[-1].at - calls[0].at >= (shares - 3 - 2) * interval


def test_a_long_retry_after_stops_every_process_calling_slack_until_it_ends(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = serve(engine=engine), serve(engine=engine)
    fake_slack.fail_next("views.publish", status=429, retry_after=120)
    opened(first, "UFIRST", "EvLong1")
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 1)
    opened(second, "USECOND", "EvLong2")
    opened(first, "UTHIRD", "EvLong3")

    def refused_here(user: str) -> bool:
        return any(
            f"views.publish for {user} failed" in r.getMessage()
            and "shared rate budget is spent" in r.getMessage()
            for r in caplog.records
        )

    deadline = time.monotonic() + 10
    while not (refused_here("USECOND") and refused_here("UTHIRD")):
        assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
        time.sleep(0.05)
    assert len(fake_slack.calls_to("views.publish")) == 1  # refused here, not by Slack
    # other methods are not held
    assert second.click("concept_share", "hypervisor").status == 200
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage")) == 1)
