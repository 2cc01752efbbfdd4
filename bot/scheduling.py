"""When a channel's daily question is due, closes, and comes next: pure rules over times.

Times are channel-local wall-clock times, so 09:00 stays 09:00 across DST changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

WEEKDAYS = frozenset(range(5))  # Monday..Friday
CLAIM_LEASE = timedelta(minutes=2)  # a claim older than this with no post is retried


class DaySet(StrEnum):
    """Which days a channel gets its daily question."""

    WEEKDAYS = "weekdays"
    EVERYDAY = "everyday"

    @property
    def described(self) -> str:
        """In words: "every day" or "Monday to Friday"."""
        return "every day" if self is DaySet.EVERYDAY else "Monday to Friday"


def parse_hhmm(text: str) -> time:
    """'09:30' -> time(9, 30)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def local_date(now: datetime, timezone: str) -> date:
    """The date in a zone at an instant."""
    return now.astimezone(ZoneInfo(timezone)).date()


def is_post_day(day: date, days: DaySet) -> bool:
    """Weekdays only, or every day."""
    return days == DaySet.EVERYDAY or day.weekday() in WEEKDAYS


def due_date(now: datetime, post_time: str, timezone: str, days: DaySet) -> date | None:
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
    return (local.date(), local.time().replace(tzinfo=None)) >= (
        post_date,
        parse_hhmm(close_time),
    )


def next_post_time(
    now: datetime, post_time: str, timezone: str, days: DaySet, posted_today: bool
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
        candidate = candidate.astimezone(UTC).astimezone(zone)
        if offset == 0 and (posted_today or candidate <= local):
            continue
        return candidate
    raise AssertionError("no posting day within a week")  # pragma: no cover
