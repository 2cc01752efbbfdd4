"""Every message and view the app can produce, rendered from a real core on a real database
and sent through the strict fake Slack: not one may be refused (Block Kit's whole-message
rules, which slack_sdk's per-block checks miss)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.commands import DailyOn, Gaps, Help, Leaderboard, Lookup, ScenarioCommand, Stats, Topics
from bot.core import Core
from bot.daily.channel import Announcement
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller, Gap, GapsResult, Notice, Picked, PracticeQuestion
from bot.scheduling import DaySet
from bot.scoring import Period
from bot.storage.db import make_engine, session_factory
from bot.storage.migrate import upgrade
from handlers.blocks import render
from handlers.blocks.daily import (
    render_announcement,
    render_daily_question,
    render_reveal,
    render_weekly_report,
)
from handlers.blocks.home import render_home
from handlers.blocks.study import render_card, render_shared
from tests.bot.test_weekly import answer_week
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel
from tests.fakes.slack_api import FakeSlack

TEAM, CHANNEL = "T1", "C1"
ADMIN = Caller(TEAM, "UADMIN", CHANNEL, is_admin=True)
UNSURE = "firewall between vms"
VETERAN = Caller(TEAM, "UVETERAN", CHANNEL)
Message = tuple[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[Any]:
    """A channel with weeks of daily questions and a person who practised everything."""
    folder: Path = tmp_path_factory.mktemp("every")
    engine = make_engine(f"sqlite:///{folder}/every.db")
    upgrade(engine)
    clock = Clock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    channel = RecordingChannel()
    core = Core(Library(lambda: kb), session_factory(engine), channel, clock=clock)
    core.schedules.subscribe(ADMIN, DailyOn(time(9, 0), "UTC", DaySet.WEEKDAYS, time(17, 0)))
    rng = random.Random(7)
    people = [f"U{k:03d}" for k in range(40)] + [VETERAN.user_id]
    for monday in (5, 12):
        plan = {u: [rng.choice([True, True, False, None]) for _ in range(5)] for u in people}
        answer_week(core, clock, monday, plan)
    clock.now = datetime(2026, 1, 19, 9, 0, tzinfo=UTC)
    core.scheduler.tick()  # the Monday report, and Monday's question
    for i, q in enumerate(sorted(kb.questions.values(), key=lambda q: q.id)):
        chosen = q.answer_index if i % 3 else (q.answer_index + 1) % len(q.choices)
        core.practice.answer(VETERAN, q.id, chosen)
    clock.now += timedelta(days=30)
    core.execute(Lookup("firewall between vms"), VETERAN)  # a gap for /virtsec gaps
    assert core.wait_idle()
    yield core, channel, kb
    assert core.wait_idle()
    engine.dispose()


def messages(world: Any) -> dict[str, Message]:
    core, channel, kb = world
    newcomer = Caller(TEAM, "UNEW", CHANNEL)
    out: dict[str, Message] = {}
    for name, query in [
        ("lookup", "what is vm escape"),
        ("comparison", "type 1 vs type 2 hypervisor"),
        ("did you mean", "security"),
        ("no match", "weather tomorrow in paris"),
    ]:
        out[name] = render(core.execute(Lookup(query), newcomer))
    out["help"] = render(core.execute(Help(), newcomer))
    out["topics"] = render(core.execute(Topics(), newcomer))
    for tag in kb.tags():
        out[f"topics {tag}"] = render(core.execute(Topics(tag), newcomer))
    for scenario in kb.scenarios:
        out[f"scenario {scenario}"] = render(core.execute(ScenarioCommand(scenario), newcomer))
    for tip in range(5):
        out[f"tip {tip}"] = render(core.study.tip())
    card = core.study.concept("vm-escape")
    assert not isinstance(card, Notice)
    out["card"], out["shared card"] = render_card(card), render_shared(card, "U1")
    question = core.practice.next_question(newcomer)
    assert isinstance(question, PracticeQuestion)
    q = question.question
    out["practice question"] = render(question)
    out["practice right"] = render(core.practice.answer(newcomer, q.id, q.answer_index))
    wrong = (q.answer_index + 1) % len(q.choices)
    out["practice wrong"] = render(core.practice.answer(newcomer, q.id, wrong))
    for period in Period:
        out[f"leaderboard {period}"] = render(core.execute(Leaderboard(period), VETERAN))
    out["leaderboard elsewhere"] = render(core.execute(Leaderboard(), Caller(TEAM, "U1", "CEMPTY")))
    out["stats new"] = render(core.execute(Stats(), newcomer))
    out["stats veteran"] = render(core.execute(Stats(), VETERAN))
    post = channel.posts[-1]
    out["daily question"] = render_daily_question(post)
    for view, reveal in channel.updates:
        out[f"update {view.post_id} {reveal is not None}"] = render_daily_question(view, reveal)
    for reveal in channel.reveals[-2:]:
        names = {u: f"Person {u}" for u in reveal.correct_users}
        out[f"reveal {reveal.post.post_id}"] = render_reveal(reveal, names)
        out[f"reveal {reveal.post.post_id} unnamed"] = render_reveal(reveal, {})
    value = f"{post.post_id}:{post.question.answer_index}"
    for user in ("UA1", "UA1"):  # recorded, then already
        result = core.answering.answer(TEAM, user, value)
        out[f"answer {result.status}"] = render(result)
    out["answer invalid"] = render(core.answering.answer(TEAM, "UA1", "999999:0"))
    core.scheduler.close(post.post_id)
    out["answer closed"] = render(core.answering.answer(TEAM, "UA2", value))
    for report in channel.reports:
        out[f"weekly {report.week_start}"] = render_weekly_report(report)
    out["announcement"] = render_announcement(
        Announcement(
            TEAM,
            CHANNEL,
            "UADMIN",
            "09:00",
            "Europe/Berlin",
            DaySet.WEEKDAYS,
            "17:00",
            datetime(2026, 1, 20, 8, 0, tzinfo=UTC),
        )
    )
    for report in channel.reports[-1:]:  # with the questions nobody got an answer to
        asked = tuple(Gap(f"question {n} <!channel> " + "x" * 150, 9 - n) for n in range(3))
        out["weekly with gaps"] = render_weekly_report(replace(report, unanswered=asked))
    # "Did you mean" picks, and what admins see of the gaps
    long_query = "firewall between vms " + "and more words " * 40
    for name, query in [("did you mean, long query", long_query), ("did you mean", UNSURE)]:
        out[name] = render(core.execute(Lookup(query), newcomer))
    card = core.study.card(kb.concepts["virtual-network-security"])
    out["picked"] = render(Picked(card, UNSURE, learned=False))
    out["picked, learned"] = render(Picked(card, long_query, learned=True))
    out["gaps"] = render(core.execute(Gaps(), ADMIN))
    many = tuple(Gap(f"query {n} <@U1> " + "y" * 180, n) for n in range(10, 0, -1))
    out["gaps, full"] = render(GapsResult(many, many, 12, 30))
    out["notice"] = render(Notice("Posted a new question in this channel."))
    out["error"] = render(Notice("Only virtsec admins can do that. <!channel>", error=True))
    return out


def test_every_message_is_accepted_by_slack(world: Any) -> None:
    all_messages = messages(world)
    assert len(all_messages) > 40
    assert any(name.startswith("weekly") for name in all_messages)
    assert any(name.startswith("reveal") for name in all_messages)
    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        for n, (name, (text, blocks)) in enumerate(all_messages.items()):
            assert text, name
            # one channel each: Slack allows about one message a second in a channel
            client.chat_postMessage(channel=f"{CHANNEL}{n}", text=text, blocks=blocks)
        assert slack.refusals == []


def test_every_home_tab_is_accepted_by_slack(world: Any) -> None:
    core, _channel, _kb = world
    newcomer = core.progress.dashboard(TEAM, "UNEW2")
    veteran = core.progress.dashboard(TEAM, VETERAN.user_id)
    assert len(veteran.stats.mastery) > 50  # two years' worth: every concept practised
    card = core.study.concept("hypervisor")
    focus_kinds = [
        None,
        core.practice.next_question(VETERAN),
        card,
        Notice("That concept is no longer in the knowledge base.", error=True),
    ]
    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        for dashboard in (newcomer, veteran):
            for focus in focus_kinds:
                view = {"type": "home", "blocks": render_home(replace_focus(dashboard, focus))}
                client.views_publish(user_id=dashboard.user_id, view=view)
        assert slack.refusals == []


def replace_focus(dashboard: Any, focus: Any) -> Any:
    return replace(dashboard, focus=focus)
