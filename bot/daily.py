"""Rules of the daily question: when it is due, which question, points, streaks, ranks.

Pure functions over plain values; `bot/daily_service.py` applies them in a unit of work.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.knowledge_base import KnowledgeBase, Question

T = TypeVar("T")

WEEKDAYS = frozenset(range(5))  # Monday..Friday
CLAIM_LEASE = timedelta(minutes=2)  # a claim older than this with no post is retried


def parse_hhmm(text: str) -> time:
    """'09:30' -> time(9, 30)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def is_post_day(day: date, days: str) -> bool:
    """Weekdays only, or every day."""
    return days == "everyday" or day.weekday() in WEEKDAYS


def due_date(now: datetime, post_time: str, timezone: str, days: str) -> date | None:
    """The channel-local date whose question is due at `now` (UTC-aware), or None.

    Due means: today is a posting day in the channel's zone and the local clock has
    passed the posting time. Local wall-clock time, so 09:00 stays 09:00 across DST;
    a time skipped by a DST jump (02:30) is due at the first instant after it.
    """
    local = now.astimezone(ZoneInfo(timezone))
    if not is_post_day(local.date(), days):
        return None
    return local.date() if local.time().replace(tzinfo=None) >= parse_hhmm(post_time) else None


def close_due(now: datetime, post_date: date, close_time: str | None, timezone: str) -> bool:
    """True when a post's configured close time (same local day) has passed."""
    if close_time is None:
        return False
    local = now.astimezone(ZoneInfo(timezone))
    return (local.date(), local.time().replace(tzinfo=None)) >= (post_date, parse_hhmm(close_time))


def next_post_time(
    now: datetime, post_time: str, timezone: str, days: str, posted_today: bool
) -> datetime:
    """When the next scheduled question goes out (channel-local, aware)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    at = parse_hhmm(post_time)
    day = local.date()
    for offset in range(0, 8):
        candidate_day = day + timedelta(days=offset)
        if not is_post_day(candidate_day, days):
            continue
        candidate = datetime.combine(candidate_day, at, tzinfo=zone)
        # normalise a wall time skipped by DST to the instant after the jump
        candidate = candidate.astimezone(ZoneInfo("UTC")).astimezone(zone)
        if offset == 0 and (posted_today or candidate <= local):
            continue
        return candidate
    raise AssertionError("no posting day within a week")  # pragma: no cover


def choose_question(kb: KnowledgeBase, used: dict[str, int], seed: str) -> Question:
    """No repeat until the pool is used up; among the least-used questions, the concept
    the channel has seen least. Deterministic for a seed (channel and slot)."""
    questions = sorted(kb.questions.values(), key=lambda q: q.id)
    if not questions:
        raise LookupError("the knowledge base has no questions")
    fewest = min(used.get(q.id, 0) for q in questions)
    fresh = [q for q in questions if used.get(q.id, 0) == fewest]
    concept_uses: dict[str, int] = {}
    for q in questions:
        concept_uses.setdefault(q.concepts[0], 0)
        concept_uses[q.concepts[0]] += used.get(q.id, 0)
    least = min(concept_uses[q.concepts[0]] for q in fresh)
    candidates = [q for q in fresh if concept_uses[q.concepts[0]] == least]
    return seeded_choice(seed, candidates)


def seeded_choice(seed: str, items: Sequence[T]) -> T:
    """A pick that depends only on the seed: the same seed picks the same item."""
    return random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16)).choice(items)


@dataclass(frozen=True)
class StreakUpdate:
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
) -> StreakUpdate:
    """Consecutive daily questions answered correctly in a channel.

    A correct answer extends the streak when the person's last streak answer was the
    channel's previous question; otherwise it starts a new streak of 1. A wrong answer
    ends it.
    """
    if not correct:
        return StreakUpdate(0, best, None)
    extended = streak_post_id is not None and streak_post_id == previous_post_id
    new = current + 1 if extended else 1
    return StreakUpdate(new, max(best, new), post_id)


def visible_streak(
    current: int, streak_post_id: int | None, latest: Sequence[tuple[int, bool]]
) -> int:
    """The streak as it stands now: broken when the person missed a later question.

    `latest` is the channel's newest posts, newest first, as (post id, still open).
    An open question not answered yet does not break a streak.
    """
    if not current or streak_post_id is None or not latest:
        return 0
    if latest[0][0] == streak_post_id:
        return current
    if latest[0][1] and len(latest) > 1 and latest[1][0] == streak_post_id:
        return current
    return 0


@dataclass(frozen=True)
class Ranked:
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


def period_bounds(period: str, today: date) -> tuple[date, date] | None:
    """[start, end) of the week (from Monday) or month containing `today`; None for all."""
    if period == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    return None
