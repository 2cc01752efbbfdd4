"""The `/virtsec` grammar: text in, a typed command out. Shared by Slack and the console."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.scheduling import DaySet
from bot.scoring import Period

USAGE = """\
/virtsec <question>          look up a concept, e.g. /virtsec what is VM escape
/virtsec topics [tag]        list concepts, optionally of one tag
/virtsec tip                 a random exam tip
/virtsec scenario            a worked case
/virtsec quiz                a practice question just for you
/virtsec leaderboard [week|month|all]
/virtsec stats               your answers, accuracy and streaks
Admins:
/virtsec daily on HH:MM [Area/City] [weekdays|everyday] [until HH:MM]
/virtsec daily off | daily   stop, or show the daily question's schedule
/virtsec weekly on|off       the Monday team report in this channel (on by default)
/virtsec post                post a question in this channel now
/virtsec reload              reload the knowledge base
/virtsec gaps                what I could not answer lately, most asked first
/virtsec teach <words> = <concept-id>   make those words answer a concept here
/virtsec forget <words>      undo a taught query"""

DAILY_USAGE = (
    "Usage: /virtsec daily on HH:MM [Area/City] [weekdays|everyday] "
    "[until HH:MM], daily off, or daily"
)


WEEKLY_USAGE = "Usage: /virtsec weekly on|off (the Monday team report in this channel)"


ECHO_CHARS = 60


def shown(text: str) -> str:
    """User text quoted back in a message: printable, one line, at most ECHO_CHARS."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= ECHO_CHARS else flat[: ECHO_CHARS - 1] + "…"


class CommandError(ValueError):
    """The text is a command with bad arguments; the message says how to fix it."""


@dataclass(frozen=True)
class _Command:
    """Base of all commands: `admin` commands are refused to everyone else."""

    admin: ClassVar[bool] = False


@dataclass(frozen=True)
class Lookup(_Command):
    """Look a concept up."""

    query: str


@dataclass(frozen=True)
class Help(_Command):
    """Show usage."""


@dataclass(frozen=True)
class Topics(_Command):
    """List concepts, optionally of one tag."""

    tag: str | None = None


@dataclass(frozen=True)
class TipCommand(_Command):
    """Show an exam tip."""


@dataclass(frozen=True)
class ScenarioCommand(_Command):
    """Show a worked scenario."""

    name: str | None = None


@dataclass(frozen=True)
class Quiz(_Command):
    """A practice question for the caller."""


@dataclass(frozen=True)
class Leaderboard(_Command):
    """The channel's leaderboard for a period."""

    period: Period = Period.ALL


@dataclass(frozen=True)
class Stats(_Command):
    """The caller's own statistics."""


@dataclass(frozen=True)
class DailyOn(_Command):
    """Subscribe the channel to a daily question."""

    admin: ClassVar[bool] = True
    at: time
    timezone: str | None  # None: the caller's own time zone
    days: DaySet = DaySet.WEEKDAYS
    close_at: time | None = None


@dataclass(frozen=True)
class DailyOff(_Command):
    """Stop the channel's daily question."""

    admin: ClassVar[bool] = True


@dataclass(frozen=True)
class DailyStatus(_Command):
    """Show the channel's daily schedule."""


@dataclass(frozen=True)
class WeeklyToggle(_Command):
    """Turn the channel's Monday report on or off."""

    admin: ClassVar[bool] = True
    enabled: bool


@dataclass(frozen=True)
class PostNow(_Command):
    """Post a question in the channel now."""

    admin: ClassVar[bool] = True


@dataclass(frozen=True)
class Reload(_Command):
    """Reload the knowledge base."""

    admin: ClassVar[bool] = True


@dataclass(frozen=True)
class Gaps(_Command):
    """The team's unanswered queries and refused suggestions."""

    admin: ClassVar[bool] = True


@dataclass(frozen=True)
class Teach(_Command):
    """Make a query answer a concept for the team."""

    admin: ClassVar[bool] = True
    query: str
    concept_id: str


@dataclass(frozen=True)
class Forget(_Command):
    """Remove a taught query."""

    admin: ClassVar[bool] = True
    query: str


TEACH_USAGE = "Usage: /virtsec teach <words people type> = <concept-id>"

Command = (
    Lookup
    | Help
    | Topics
    | TipCommand
    | ScenarioCommand
    | Quiz
    | Leaderboard
    | Stats
    | DailyOn
    | DailyOff
    | DailyStatus
    | WeeklyToggle
    | PostNow
    | Reload
    | Gaps
    | Teach
    | Forget
)
"""Every `/virtsec` command: routed in one place, `bot.core.Core.execute`."""

_SIMPLE: dict[str, type[Help | TipCommand | Quiz | Stats | PostNow | Reload | Gaps]] = {
    "gaps": Gaps,
    "help": Help,
    "tip": TipCommand,
    "quiz": Quiz,
    "stats": Stats,
    "post": PostNow,
    "reload": Reload,
}
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse(text: str, default_timezone: str | None = None) -> Command:
    """Parse the text after `/virtsec`; anything that is not a command word is a lookup."""
    words = text.split()
    if not words:
        return Help()
    head = words[0].lower()
    rest = words[1:]
    if head in _SIMPLE and not rest:
        return _SIMPLE[head]()
    if head in ("topics", "topic") and len(rest) <= 1:
        return Topics(rest[0].lower() if rest else None)
    if head == "scenario" and len(rest) <= 1:
        return ScenarioCommand(rest[0].lower() if rest else None)
    if head == "leaderboard" and len(rest) <= 1:
        period = rest[0].lower() if rest else "all"
        if period not in Period.__members__.values():
            raise CommandError(
                f"Unknown period “{shown(period)}”. Usage: /virtsec leaderboard [week|month|all]"
            )
        return Leaderboard(Period(period))
    if head == "daily":
        return _daily(rest, default_timezone)
    if head == "teach" and "=" in text:
        query, _, concept_id = text.split(None, 1)[1].rpartition("=")
        if not query.strip() or len(concept_id.split()) != 1:
            raise CommandError(TEACH_USAGE)
        return Teach(query.strip(), concept_id.strip().lower())
    if head == "forget" and rest:
        return Forget(" ".join(rest))
    if head == "weekly":
        if len(rest) == 1 and rest[0].lower() in ("on", "off"):
            return WeeklyToggle(rest[0].lower() == "on")
        raise CommandError(WEEKLY_USAGE)
    return Lookup(" ".join(words))


def _time(text: str) -> time:
    match = _TIME_RE.match(text)
    if not match:
        raise CommandError(
            f"“{shown(text)}” is not a time; use 24-hour HH:MM, e.g. 09:00. " + DAILY_USAGE
        )
    return time(int(match.group(1)), int(match.group(2)))


def _daily(args: list[str], default_timezone: str | None) -> Command:
    if not args:
        return DailyStatus()
    sub = args[0].lower()
    if sub == "off" and len(args) == 1:
        return DailyOff()
    if sub != "on" or len(args) < 2 or len(args) > 6:
        raise CommandError(DAILY_USAGE)
    at = _time(args[1])
    zone = default_timezone
    days = DaySet.WEEKDAYS
    close_at = None
    rest = args[2:]
    while rest:
        word = rest.pop(0)
        if word.lower() in DaySet.__members__.values():
            days = DaySet(word.lower())
        elif word.lower() == "until":
            if not rest:
                raise CommandError(DAILY_USAGE)
            close_at = _time(rest.pop(0))
            if close_at <= at:
                raise CommandError(
                    f"The close time {close_at:%H:%M} must be after the posting time {at:%H:%M}."
                )
        else:
            zone = resolve_timezone(word)
    return DailyOn(at, zone, days, close_at)


def resolve_timezone(name: str) -> str:
    """The canonical IANA name for a zone the user typed, or CommandError."""
    if name.upper() == "UTC":
        return "UTC"
    candidates = {z.lower(): z for z in available_timezones()}
    canonical = candidates.get(name.lower())
    if canonical is None:
        raise CommandError(
            f"Unknown time zone “{shown(name)}”; use an Area/City name such as "
            "Europe/Berlin, America/New_York or UTC."
        )
    try:
        ZoneInfo(canonical)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - tz database incomplete
        raise CommandError(f"Time zone “{shown(name)}” is not available on this server.") from exc
    return canonical
