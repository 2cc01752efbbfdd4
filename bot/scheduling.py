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


def due_date(
    now: datetime,
    post_time: str,
    timezone: str,
    days: DaySet,
    starts_on: date | None = None,
    close_time: str | None = None,
) -> date | None:
    """The channel-local date whose question is due at `now` (UTC-aware), or None.

    Due means: today is a posting day in the channel's zone, not before the schedule
    `starts_on`, the local clock has passed the posting time and, with a close time, not
    yet that (a question missed for its whole window is skipped, not posted to close at
    once). Local wall-clock time, so 09:00 stays 09:00 across DST; a time skipped by a DST
    jump (02:30) is due at the first instant after it.
    """
    local = now.astimezone(ZoneInfo(timezone))
    if not is_post_day(local.date(), days) or (starts_on is not None and local.date() < starts_on):
        return None
    wall = local.time().replace(tzinfo=None)
    if close_time is not None and wall >= parse_hhmm(close_time):
        return None
    return local.date() if wall >= parse_hhmm(post_time) else None


def first_post_date(now: datetime, post_time: str, timezone: str) -> date:
    """The first day a schedule set at `now` posts: today while its time is still ahead,
    otherwise tomorrow (an admin who wants a question at once uses `post`)."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.time().replace(tzinfo=None) < parse_hhmm(post_time):
        return local.date()
    return local.date() + timedelta(days=1)


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """A local wall-clock time on a day; a time skipped by a DST jump becomes the first
    instant after the jump (as `due_date` sees it: the first moment the wall clock has
    passed it)."""
    wall = datetime.combine(day, parse_hhmm(hhmm))
    moment = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    if moment.replace(tzinfo=None) == wall:
        return moment
    # skipped: walk from before the gap (the later offset) to where the clock passes it
    moment = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return moment.astimezone(zone)


def close_time_of(posted_at: datetime, close_time: str, timezone: str) -> datetime:
    """When a question posted at `posted_at` closes: the first `close_time` after it. A
    question posted after that day's close time stays open until the next day's."""
    zone = ZoneInfo(timezone)
    local = posted_at.astimezone(zone)
    closes = _at(local.date(), close_time, zone)
    return closes if closes > local else _at(local.date() + timedelta(days=1), close_time, zone)


def close_due(now: datetime, posted_at: datetime, close_time: str | None, timezone: str) -> bool:
    """True when a post's close time has come (never, without one)."""
    return close_time is not None and now >= close_time_of(posted_at, close_time, timezone)


def next_post_time(
    now: datetime,
    post_time: str,
    timezone: str,
    days: DaySet,
    posted_today: bool,
    starts_on: date | None = None,
) -> datetime:
    """When the next scheduled question goes out (channel-local, aware)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = max(local.date(), starts_on or local.date())
    for offset in range(0, 8):
        candidate_day = day + timedelta(days=offset)
        if not is_post_day(candidate_day, days):
            continue
        candidate = _at(candidate_day, post_time, zone)
        if candidate_day == local.date() and (posted_today or candidate <= local):
            continue
        return candidate
    raise AssertionError("no posting day within a week")  # pragma: no cover
