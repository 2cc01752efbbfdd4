"""The streak rule runs as SQL in the click path; `bot.scoring.next_streak` is its oracle.

Random answer histories (people answering right, wrong, or not at all, question after
question) go through the real click path on each database, and every person's stored score
must equal what the Python rule computes from the same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core import Core
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller
from bot.scoring import ClickStatus, Streak, next_streak
from bot.storage.tables import Score
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel

TEAM, CHANNEL = "T1", "C1"
ADMIN = Caller(TEAM, "UADMIN", CHANNEL, is_admin=True)
PEOPLE = ("UA", "UB", "UC", "UD")


@dataclass
class Expected:
    """What the Python rule says a person's score row holds."""

    streak: Streak = field(default_factory=lambda: Streak(0, 0, None))
    points: int = 0
    answered: int = 0


@pytest.mark.parametrize("seed", range(6))
def test_sql_streaks_match_the_python_rule(
    sessions: sessionmaker[Session], kb: KnowledgeBase, seed: int
) -> None:
    rng = random.Random(seed)
    core = Core(
        Library(lambda: kb),
        sessions,
        RecordingChannel(),
        clock=Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        refresh_interval=0.01,
    )
    expected = {user: Expected() for user in PEOPLE}
    channel = core.scheduler.channel
    assert isinstance(channel, RecordingChannel)
    previous: int | None = None
    for _ in range(rng.randint(6, 14)):
        assert not core.scheduler.post_now(ADMIN).error  # closes the open one
        post = channel.posts[-1]
        question = post.question
        for user in PEOPLE:
            roll = rng.random()
            if roll < 0.25:
                continue  # does not answer this one
            right = roll < 0.7
            choice = (
                question.answer_index
                if right
                else (question.answer_index + 1) % len(question.choices)
            )
            result = core.answering.answer(TEAM, user, f"{post.post_id}:{choice}")
            assert result.status == ClickStatus.RECORDED and result.correct == right
            mine = expected[user]
            mine.streak = next_streak(*mine.streak, post.post_id, previous, right)
            mine.points += int(right)
            mine.answered += 1
            # a second click never changes anything
            again = core.answering.answer(TEAM, user, f"{post.post_id}:{choice}")
            assert again.status == ClickStatus.ALREADY
        previous = post.post_id
    assert core.wait_idle()
    with sessions.begin() as session:
        rows = {
            row.user_id: row
            for row in session.scalars(select(Score).where(Score.channel_id == CHANNEL))
        }
    for user, want in expected.items():
        if not want.answered:
            assert user not in rows
            continue
        row = rows[user]
        got = Streak(row.current_streak, row.best_streak, row.streak_post_id)
        assert got == want.streak, user
        assert (row.points, row.correct, row.answered) == (want.points, want.points, want.answered)
