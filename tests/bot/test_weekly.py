"""The Monday team report: content on a seeded database, once per week, can be turned off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import DailyOn, Lookup, WeeklyToggle
from bot.core import Core
from bot.daily.channel import ChannelFailed
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller
from bot.storage.posts import Posts
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel

TEAM, CHANNEL = "T1", "C1"
ADMIN = Caller(TEAM, "UADMIN", CHANNEL, is_admin=True)


@pytest.fixture
def setup(
    sessions: sessionmaker[Session], kb: KnowledgeBase
) -> Iterator[tuple[Core, RecordingChannel, Clock]]:
    clock = Clock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))  # a Monday, before the 09:00 post
    channel = RecordingChannel()
    core = Core(Library(lambda: kb), sessions, channel, clock=clock, refresh_interval=0.05)
    core.schedules.subscribe(ADMIN, DailyOn(time(9, 0), "UTC", "weekdays"))
    yield core, channel, clock
    assert core.wait_idle()


def answer_week(
    core: Core,
    clock: Clock,
    monday: int,
    plan: dict[str, list[bool | None]],
    team: str = TEAM,
    channel_id: str = CHANNEL,
) -> None:
    """Five weekdays from 2026-01-<monday>: plan[user][day] right/wrong/None (no answer)."""
    for day in range(5):
        clock.now = datetime(2026, 1, monday + day, 9, 0, tzinfo=UTC)
        core.scheduler.tick()
        post_id = core.answering.open_post_id(team, channel_id)
        assert post_id is not None
        with core.sessions.begin() as session:
            db_post = Posts(session).get(post_id)
            assert db_post is not None
            question = core.kb.questions[db_post.question_id]
        for user, answers in plan.items():
            good = answers[day]
            if good is None:
                continue
            choice = (
                question.answer_index
                if good
                else (question.answer_index + 1) % len(question.choices)
            )
            core.answering.answer(team, user, f"{post_id}:{choice}")


def test_monday_report_has_top_improved_missed_hardest_and_participation(
    setup: tuple[Core, RecordingChannel, Clock],
) -> None:
    core, channel, clock = setup
    answer_week(
        core,
        clock,
        5,
        {"UA": [True, False, False, False, False], "UB": [True, True, True, True, True]},
    )
    answer_week(
        core,
        clock,
        12,
        {
            "UA": [True, True, True, True, False],
            "UB": [True, True, False, False, False],
            "UC": [False, False, False, False, None],
        },
    )
    clock.now = datetime(2026, 1, 19, 9, 0, tzinfo=UTC)  # Monday: report on the 12th-16th
    report = core.scheduler.tick()
    assert report.reports == [CHANNEL]
    week = channel.reports[-1]
    assert str(week.week_start) == "2026-01-12"
    assert [(r.rank, r.user_id, r.points) for r in week.top] == [(1, "UA", 4), (2, "UB", 2)]
    assert week.improved == (("UA", 3),)  # UA: 1 -> 4; UB went down
    assert (week.participants, week.answers, week.questions) == (3, 14, 5)
    assert week.missed and week.missed[0][1] >= 1
    assert week.hardest is not None and week.hardest[1] <= 1


def test_the_report_lists_the_weeks_most_asked_unanswered_questions(
    setup: tuple[Core, RecordingChannel, Clock],
) -> None:
    core, channel, clock = setup
    clock.now = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)  # the week before: not counted
    for user in ("UA", "UB"):
        core.execute(Lookup("what is the capital of France"), Caller(TEAM, user, CHANNEL))
    asked = {  # question -> who asked it during the week of the 12th
        "firewall between vms": ["UA", "UB", "UC"],
        "what is a buffer": ["UA", "UB"],
        "how do I hack my neighbour": ["UA", "UA", "UA", "UA"],  # one person only
        "apparmor": ["UB", "UC"],
        "explain quantum computing": ["UC", "UD"],
    }
    clock.now = datetime(2026, 1, 13, 12, 0, tzinfo=UTC)
    for query, people in asked.items():
        for user in people:
            core.execute(Lookup(query), Caller(TEAM, user, CHANNEL))
    core.execute(Lookup("firewall between vms"), Caller("T2", "UZ", CHANNEL))  # elsewhere
    answer_week(core, clock, 12, {"UA": [True, True, True, True, True]})
    assert core.wait_idle()
    clock.now = datetime(2026, 1, 19, 9, 0, tzinfo=UTC)
    assert core.scheduler.tick().reports == [CHANNEL]
    unanswered = [(g.query, g.times) for g in channel.reports[-1].unanswered]
    assert unanswered[0] == ("firewall between vms", 3)
    assert len(unanswered) == 3 and "how do I hack my neighbour" not in dict(unanswered)
    assert "what is the capital of France" not in dict(unanswered)


def test_the_report_is_posted_once_even_when_ticks_repeat(
    setup: tuple[Core, RecordingChannel, Clock],
) -> None:
    core, channel, clock = setup
    answer_week(core, clock, 5, {"UA": [True] * 5})
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.scheduler.tick()
    for minutes in range(1, 4):
        clock.now = datetime(2026, 1, 12, 9, minutes, tzinfo=UTC)
        core.scheduler.tick()
    assert len(channel.reports) == 1


def test_a_quiet_week_posts_nothing(setup: tuple[Core, RecordingChannel, Clock]) -> None:
    core, channel, clock = setup
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.schedules.unsubscribe(ADMIN)  # no questions the week before
    core.schedules.subscribe(ADMIN, DailyOn(time(9, 0), "UTC", "weekdays"))
    core.scheduler.tick()
    assert channel.reports == []


def test_admins_can_turn_the_report_off(
    setup: tuple[Core, RecordingChannel, Clock],
) -> None:
    core, channel, clock = setup
    answer_week(core, clock, 5, {"UA": [True] * 5})
    assert "off" in core.execute(WeeklyToggle(False), ADMIN).text  # type: ignore[union-attr]
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.scheduler.tick()
    assert channel.reports == []
    core.execute(WeeklyToggle(True), ADMIN)
    clock.now = datetime(2026, 1, 12, 9, 5, tzinfo=UTC)
    core.scheduler.tick()
    assert len(channel.reports) == 1


def test_a_failed_report_is_retried(setup: tuple[Core, RecordingChannel, Clock]) -> None:
    core, channel, clock = setup
    answer_week(core, clock, 5, {"UA": [True] * 5})
    original = channel.post_report

    def broken(report: object) -> str:
        raise ChannelFailed("ratelimited")  # Slack answered: not posted

    channel.post_report = broken  # type: ignore[method-assign]
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.scheduler.tick()
    channel.post_report = original  # type: ignore[method-assign]
    clock.now = datetime(2026, 1, 12, 9, 1, tzinfo=UTC)
    core.scheduler.tick()
    assert len(channel.reports) == 1
