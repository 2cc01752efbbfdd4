"""Points, streaks and ranks: pure rules over plain values.

The click path applies the streak rule in SQL (`bot.storage.clicks._score_rule`), so a click
is one statement; `next_streak` is the same rule in Python, and tests run the SQL on both
databases over generated answer histories with this function as their oracle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple


class Period(StrEnum):
    """A leaderboard's time span: weeks start on Monday, months on the 1st."""

    WEEK = "week"
    MONTH = "month"
    ALL = "all"

    @property
    def described(self) -> str:
        """In words: "this week", "this month", "all time"."""
        return {"week": "this week", "month": "this month", "all": "all time"}[self.value]


class ClickStatus(StrEnum):
    """What became of a click on a daily question's answer button."""

    RECORDED = "recorded"  # the person's first answer: counted
    ALREADY = "already"  # they had answered: the first answer stands
    CLOSED = "closed"  # the question has closed
    INVALID = "invalid"  # not an answer to a question we know


class Streak(NamedTuple):
    """A person's streak after an answer."""

    current: int
    best: int
    streak_post_id: int | None


def next_streak(
    current: int,
    best: int,
    streak_post_id: int | None,
    post_id: int,
    previous_post_id: int | None,
    correct: bool,
) -> Streak:
    """Consecutive daily questions answered correctly in a channel.

    A correct answer extends the streak when the person's last streak answer was the
    channel's previous question; otherwise it starts a new streak of 1. A wrong answer
    ends it.
    """
    if not correct:
        return Streak(0, best, None)
    extended = streak_post_id is not None and streak_post_id == previous_post_id
    new = current + 1 if extended else 1
    return Streak(new, max(best, new), post_id)


class RecentPost(NamedTuple):
    """One of a channel's newest posts, for the visible streak."""

    post_id: int
    open: bool


def visible_streak(current: int, streak_post_id: int | None, latest: Sequence[RecentPost]) -> int:
    """The streak as it stands now: broken when the person missed a later question.

    `latest` is the channel's newest posts, newest first. An open question not answered yet
    does not break a streak.
    """
    if not current or streak_post_id is None or not latest:
        return 0
    if latest[0].post_id == streak_post_id:
        return current
    if latest[0].open and len(latest) > 1 and latest[1].post_id == streak_post_id:
        return current
    return 0


class Ranked(NamedTuple):
    """A leaderboard row."""

    rank: int
    user_id: str
    points: int


def rank(rows: Iterable[tuple[str, int]]) -> list[Ranked]:
    """Competition ranking: ties share a rank (1, 2, 2, 4). Rows sorted by points desc."""
    out: list[Ranked] = []
    previous: int | None = None
    current_rank = 0
    for position, (user_id, points) in enumerate(rows, 1):
        if points != previous:
            current_rank = position
            previous = points
        out.append(Ranked(current_rank, user_id, points))
    return out


def period_bounds(period: Period, today: date) -> tuple[date, date] | None:
    """[start, end) of the week (from Monday) or month containing `today`; None for all."""
    if period == Period.WEEK:
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    if period == Period.MONTH:
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    return None
