"""The console session on a shared database: it acts in its own channel only."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import DailyOn
from bot.console import CONSOLE_CHANNEL, ConsoleChannel, ConsoleSession
from bot.core import Core
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller
from bot.scheduling import DaySet
from bot.storage.tables import DailyPost
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel


def test_the_console_never_posts_slack_channels_questions(
    sessions: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    slack_side = Core(Library(lambda: kb), sessions, RecordingChannel(), clock=clock)
    admin = Caller("T1", "UADMIN", "C1", is_admin=True)
    slack_side.schedules.subscribe(admin, DailyOn(time(9, 0), "UTC", DaySet.EVERYDAY))
    out = io.StringIO()
    channel = ConsoleChannel(out)
    console = Core(Library(lambda: kb), sessions, channel, clock=clock)
    session = ConsoleSession(console, channel, user="me")
    session.handle("/virtsec daily on 09:00 UTC everyday")
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # both channels are due now
    session.handle("what is vm escape")
    with sessions.begin() as db:
        per_channel = dict(
            db.execute(
                select(DailyPost.channel_id, func.count()).group_by(DailyPost.channel_id)
            ).all()
        )
    assert per_channel == {CONSOLE_CHANNEL: 1}  # the Slack channel's question is left alone
    assert "*** Daily practice question" in out.getvalue()
