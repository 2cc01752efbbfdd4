"""The Monday report as Slack shows it: valid blocks, buttons to the concepts missed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.commands import DailyOn
from bot.core import Core
from bot.library import Library
from bot.results import Caller
from bot.storage.db import session_factory
from handlers.slack_channel import SlackChannel
from tests.bot.test_weekly import answer_week
from tests.fakes.clock import Clock
from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import validate_blocks


def test_weekly_report_blocks(engine: Engine, library: Library) -> None:
    # a week of posts in a second of the fake clock: Slack's per-second limits do not apply
    with FakeSlack(rate_limits=False) as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        clock = Clock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))  # before the 09:00 post
        channel = SlackChannel(client)
        core = Core(library, session_factory(engine), channel, clock=clock, refresh_interval=0.05)
        core.schedules.subscribe(
            Caller("T0TEST", "UADMIN", "C1", is_admin=True), DailyOn(time(9, 0), "UTC", "weekdays")
        )
        answer_week(
            core,
            clock,
            5,
            {"UA": [True, False, True, False, True], "UB": [False, False, True, True, False]},
            team="T0TEST",
            channel_id="C1",
        )
        clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
        assert core.scheduler.tick().reports == ["C1"]
        assert core.wait_idle()
        report = next(
            c
            for c in slack.calls_to("chat.postMessage")
            if c.args["text"].startswith("Weekly report")
        )
        validate_blocks(report.args["blocks"])
        flat = json.dumps(report.args["blocks"])
        assert "Top scorers" in flat and "What the team missed most" in flat
        assert "concept_open" in flat and "Hardest question" in flat
        assert "2 people answered 10 times across 5 questions" in flat
