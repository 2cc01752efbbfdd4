"""The daily question against a Slack that fails: one message per slot whatever happens,
and nothing lost. The core posts through the real SlackChannel to the fake Slack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.commands import DailyOn
from bot.core import Core
from bot.daily.channel import ChannelFailed
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.pacing import Pacer
from bot.results import Caller
from bot.scheduling import DaySet
from bot.storage.db import make_engine, session_factory
from handlers.slack_channel import SlackChannel
from handlers.web_api import BoundedRateLimitRetryHandler, build_client
from tests.fakes.clock import Clock
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.handlers.conftest import settings_for

ADMIN = Caller(TEAM_ID, "UADMIN", "C1", is_admin=True)


def questions(slack: FakeSlack) -> list[dict[str, object]]:
    return [
        c.args
        for c in slack.calls_to("chat.postMessage")
        if str(c.args.get("text", "")).startswith("Daily practice question:")
    ]


@pytest.fixture
def slack() -> FakeSlack:
    with FakeSlack() as fake:
        yield fake


def core_on(
    engine: Engine,
    kb: KnowledgeBase,
    slack: FakeSlack,
    clock: Clock,
    library: Library | None = None,
) -> Core:
    client = WebClient(
        token="xoxb-test", base_url=slack.base_url, retry_handlers=[BoundedRateLimitRetryHandler()]
    )
    library = library or Library(lambda: kb)
    core = Core(library, session_factory(engine), SlackChannel(client), clock=clock)
    assert not core.schedules.subscribe(
        ADMIN, DailyOn(time(9, 0), "UTC", DaySet.EVERYDAY, time(17, 0))
    ).error
    return core


def test_a_5xx_after_sending_is_never_posted_again(
    engine: Engine, kb: KnowledgeBase, slack: FakeSlack
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    core = core_on(engine, kb, slack, clock)
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    slack.fail_next("chat.postMessage", status=500)  # Slack may have posted it
    assert core.scheduler.tick().failed == ["C1"]
    for _ in range(3):
        clock.advance(minutes=3)
        assert core.scheduler.tick().posted == []
    assert len(questions(slack)) == 1  # the one attempt, not a second message


def test_a_long_rate_limit_is_not_waited_for_and_the_next_tick_posts_once(
    engine: Engine, kb: KnowledgeBase, slack: FakeSlack
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    core = core_on(engine, kb, slack, clock)
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    slack.fail_next("chat.postMessage", status=429, retry_after=65, times=2)
    assert core.scheduler.tick().failed == ["C1"]  # not waited for: the lease holds
    clock.advance(minutes=1)
    assert core.scheduler.tick().failed == ["C1"]
    clock.advance(minutes=1)
    assert len(core.scheduler.tick().posted) == 1
    clock.advance(minutes=1)
    assert core.scheduler.tick().posted == []
    assert len(questions(slack)) == 3  # two refused by Slack, one posted
    assert len(slack.calls_to("chat.update")) == 0


def test_two_schedulers_retrying_a_reveal_reveal_once(
    engine: Engine, kb: KnowledgeBase, slack: FakeSlack
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    first = core_on(engine, kb, slack, clock)
    second = Core(
        Library(lambda: kb),
        session_factory(engine),
        SlackChannel(WebClient(token="xoxb-test", base_url=slack.base_url)),
        clock=clock,
    )
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    first.scheduler.tick()
    slack.fail_next("chat.update", status=429, retry_after=60)  # the close's reveal: refused
    clock.now = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert len(first.scheduler.tick().closed) == 1
    reveals = lambda: [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]  # noqa: E731
    assert reveals() == []
    clock.advance(minutes=1)
    barrier = threading.Barrier(2)

    def tick(core: Core) -> None:
        barrier.wait(timeout=10)
        core.scheduler.tick()

    threads = [threading.Thread(target=tick, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(reveals()) == 1


def test_a_question_gone_from_the_notes_does_not_stop_the_channel(
    engine: Engine, kb: KnowledgeBase, slack: FakeSlack
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    current = [kb]
    core = core_on(engine, kb, slack, clock, Library(lambda: current[0]))
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.scheduler.tick()
    posted = questions(slack)[0]
    gone = next(q for q in kb.questions.values() if q.prompt in str(posted["text"]))
    slack.fail_next("chat.update", status=429, retry_after=60)
    clock.now = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    core.scheduler.tick()  # closed; its reveal refused, to be retried
    current[0] = KnowledgeBase(
        kb.concepts, {k: q for k, q in kb.questions.items() if k != gone.id}, kb.tips, kb.scenarios
    )
    assert not core.library.reload().error  # the edited notes no longer hold the question
    clock.now = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
    assert len(core.scheduler.tick().posted) == 1  # the next day's question still comes
    clock.advance(minutes=1)
    core.scheduler.tick()
    assert len(questions(slack)) == 2


def test_a_post_whose_rate_budget_is_unreachable_is_not_sent_and_known_not_sent(
    tmp_path: Path,
) -> None:
    # the shared budget lives in the database: when it cannot be read, nothing goes to
    # Slack and the post is reported as refused (so the next tick may try again), never as
    # "maybe sent"
    broken = make_engine(f"sqlite:///{tmp_path}/missing/dir/virtsec.db")
    with FakeSlack() as slack:
        client = build_client(settings_for(slack, tmp_path))
        client.pacer = Pacer(session_factory(broken))
        with pytest.raises(ChannelFailed) as raised:
            SlackChannel(client)._post(TEAM_ID, "C1", "hello", [])
        assert raised.value.reason == "ratelimited"
        assert slack.calls == []
    broken.dispose()
