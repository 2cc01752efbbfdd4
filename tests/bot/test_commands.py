"""The `/virtsec` grammar, as users type it."""

from __future__ import annotations

from datetime import time

import pytest

from bot.commands import (
    CommandError,
    DailyOff,
    DailyOn,
    DailyStatus,
    Help,
    Leaderboard,
    Lookup,
    PostNow,
    Quiz,
    Reload,
    ScenarioCommand,
    Stats,
    TipCommand,
    Topics,
    parse,
)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("tip", TipCommand()),
        ("quiz", Quiz()),
        ("stats", Stats()),
        ("post", PostNow()),
        ("reload", Reload()),
        ("topics", Topics(None)),
        ("topics Containers", Topics("containers")),
        ("scenario", ScenarioCommand(None)),
        ("leaderboard", Leaderboard("all")),
        ("leaderboard week", Leaderboard("week")),
        ("leaderboard MONTH", Leaderboard("month")),
        ("daily", DailyStatus()),
        ("daily off", DailyOff()),
        ("daily on 09:00", DailyOn(time(9, 0), None, "weekdays")),
        ("daily on 09:00 UTC until 17:30", DailyOn(time(9, 0), "UTC", "weekdays", time(17, 30))),
        ("daily on 9:30 europe/berlin", DailyOn(time(9, 30), "Europe/Berlin", "weekdays")),
        ("daily on 23:59 UTC everyday", DailyOn(time(23, 59), "UTC", "everyday")),
        (
            "daily on 07:05 everyday America/New_York",
            DailyOn(time(7, 5), "America/New_York", "everyday"),
        ),
    ],
)
def test_commands(text: str, want: object) -> None:
    assert parse(text) == want


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("what is VM escape", "what is VM escape"),
        ("VM   escape", "VM escape"),
        ("tips for hardening esxi", "tips for hardening esxi"),
        ("quiz me on containers", "quiz me on containers"),
        ("help with type 2 hypervisors", "help with type 2 hypervisors"),
        ("<!channel> what is k8s", "<!channel> what is k8s"),
    ],
)
def test_anything_else_is_a_lookup(text: str, query: str) -> None:
    assert parse(text) == Lookup(query)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("leaderboard yesterday", ["Unknown period", "week|month|all"]),
        ("daily on", ["Usage"]),
        ("daily on 25:00", ["not a time", "HH:MM"]),
        ("daily on 9am", ["not a time"]),
        ("daily on 09:00 Mars/Olympus", ["Unknown time zone", "Europe/Berlin"]),
        ("daily maybe", ["Usage"]),
        ("daily on 09:00 until 08:00", ["must be after"]),
        ("daily on 09:00 until", ["Usage"]),
    ],
)
def test_bad_arguments_say_how_to_fix_them(text: str, words: list[str]) -> None:
    with pytest.raises(CommandError) as info:
        parse(text)
    for word in words:
        assert word in str(info.value)


def test_the_default_time_zone_is_the_callers() -> None:
    assert parse("daily on 08:00", default_timezone="Asia/Tokyo") == DailyOn(
        time(8, 0), "Asia/Tokyo", "weekdays"
    )


def test_admin_commands_are_marked() -> None:
    assert parse("daily on 09:00").admin and parse("post").admin and parse("reload").admin
    assert parse("daily off").admin
    assert not parse("daily").admin and not parse("quiz").admin and not parse("x").admin
