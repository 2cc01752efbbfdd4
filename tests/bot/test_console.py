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


def test_the_console_offers_numbered_suggestions_and_learns_from_picks(
    sessions: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    channel = ConsoleChannel(io.StringIO())
    core = Core(Library(lambda: kb), sessions, channel, clock=clock)
    me = ConsoleSession(core, channel, user="me")  # the console's user is its admin
    unsure = me.handle("firewall between vms")
    assert "Did you mean (type its number):" in unsure and "0. None of these" in unsure
    numbered = [line for line in unsure.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]
    number = next(n for n, line in enumerate(numbered, 1) if "Virtual network security" in line)
    assert "Type a number from 1" in me.handle("7")
    picked = me.handle(str(number))
    assert picked.startswith("Virtual network security")
    assert '"firewall between vms" now answers Virtual network security directly' in picked
    assert me.handle("firewall between VMs").startswith("Virtual network security")
    assert "(Your team taught me this answer.)" in me.handle("firewall between vms")
    me.handle("what is the capital of France")
    assert "None of these" in me.handle("security")
    assert me.handle("0").startswith("Thanks, noted.")
    assert me.handle("5").startswith("No good match")  # nothing offered: "5" is a lookup
    gaps = me.handle("/virtsec gaps")
    assert "1x  what is the capital of France" in gaps and "1x  security" in gaps
    assert core.wait_idle()
