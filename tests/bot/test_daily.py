"""Daily-question rules: due times across DST, question choice, streaks, ranks, periods."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from bot import quiz, scheduling, scoring
from bot.knowledge_base import KnowledgeBase
from bot.scoring import RecentPost


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "want"),
    [
        (utc(2026, 1, 14, 7, 59), None),  # 08:59 CET: not yet
        (utc(2026, 1, 14, 8, 0), date(2026, 1, 14)),  # 09:00 CET
        (utc(2026, 7, 15, 6, 59), None),  # 08:59 CEST
        (utc(2026, 7, 15, 7, 0), date(2026, 7, 15)),  # 09:00 CEST: same wall time in summer
        (utc(2026, 3, 27, 8, 0), date(2026, 3, 27)),  # Friday before the DST switch (CET)
        (utc(2026, 3, 30, 6, 59), None),  # Monday after it (CEST), 08:59
        (utc(2026, 3, 30, 7, 0), date(2026, 3, 30)),  # Monday 09:00 CEST
        (utc(2026, 1, 17, 9, 0), None),  # Saturday: weekdays only
    ],
)
def test_due_date_holds_the_local_time_across_dst(now: datetime, want: date | None) -> None:
    assert scheduling.due_date(now, "09:00", "Europe/Berlin", "weekdays") == want


def test_a_time_skipped_by_dst_is_due_right_after_the_jump() -> None:
    # 2026-03-29 02:30 does not exist in Berlin; 03:00 CEST is 01:00 UTC
    assert (
        scheduling.due_date(utc(2026, 3, 29, 0, 59), "02:30", "Europe/Berlin", "everyday") is None
    )
    assert scheduling.due_date(
        utc(2026, 3, 29, 1, 0), "02:30", "Europe/Berlin", "everyday"
    ) == date(2026, 3, 29)


def test_everyday_includes_weekends() -> None:
    assert scheduling.due_date(utc(2026, 1, 17, 9, 0), "09:00", "UTC", "everyday") == date(
        2026, 1, 17
    )


def test_next_post_time_skips_weekends_and_todays_post() -> None:
    friday_noon = utc(2026, 1, 16, 12, 0)
    nxt = scheduling.next_post_time(friday_noon, "09:00", "America/New_York", "weekdays", False)
    assert (nxt.date(), nxt.hour, nxt.minute) == (date(2026, 1, 16), 9, 0)  # 07:00 NY now
    nxt = scheduling.next_post_time(friday_noon, "09:00", "America/New_York", "weekdays", True)
    assert nxt.date() == date(2026, 1, 19)  # Monday


def test_close_due() -> None:
    posted = utc(2026, 1, 14, 9, 0)
    assert not scheduling.close_due(utc(2026, 1, 14, 16, 59), posted, "17:00", "UTC")
    assert scheduling.close_due(utc(2026, 1, 14, 17, 0), posted, "17:00", "UTC")
    assert not scheduling.close_due(utc(2026, 1, 14, 23, 0), posted, None, "UTC")


@pytest.mark.parametrize(
    ("now", "starts"),
    [
        (utc(2026, 1, 14, 7, 59), date(2026, 1, 14)),  # a minute before 09:00 Berlin: today
        (utc(2026, 1, 14, 8, 0), date(2026, 1, 15)),  # at 09:00: tomorrow
        (utc(2026, 1, 14, 8, 1), date(2026, 1, 15)),  # a minute after: tomorrow
    ],
)
def test_a_schedule_set_after_its_time_starts_tomorrow(now: datetime, starts: date) -> None:
    assert scheduling.first_post_date(now, "09:00", "Europe/Berlin") == starts
    due = scheduling.due_date(now, "09:00", "Europe/Berlin", "everyday", starts)
    nxt = scheduling.next_post_time(now, "09:00", "Europe/Berlin", "everyday", False, starts)
    assert (nxt.date(), nxt.hour, nxt.minute) == (starts, 9, 0)
    assert due is None  # before the slot, or it starts tomorrow: nothing due now


def test_a_schedule_set_late_in_the_evening_in_new_york_starts_after_midnight() -> None:
    now = utc(2026, 1, 13, 5, 36)  # 00:36 in New York on Tuesday 13 January
    starts = scheduling.first_post_date(now, "00:05", "America/New_York")
    assert starts == date(2026, 1, 14)
    assert scheduling.due_date(now, "00:05", "America/New_York", "everyday", starts) is None
    nxt = scheduling.next_post_time(now, "00:05", "America/New_York", "everyday", False, starts)
    assert nxt.isoformat() == "2026-01-14T00:05:00-05:00"
    at_slot = utc(2026, 1, 14, 5, 5)
    assert scheduling.due_date(at_slot, "00:05", "America/New_York", "everyday", starts) == starts


def test_a_question_posted_after_its_close_time_stays_open_until_the_next_day() -> None:
    posted = utc(2026, 1, 14, 18, 0)  # a manual post after the 17:00 close
    assert scheduling.close_time_of(posted, "17:00", "UTC") == utc(2026, 1, 15, 17, 0)
    assert not scheduling.close_due(utc(2026, 1, 14, 18, 0, 30), posted, "17:00", "UTC")
    assert scheduling.close_due(utc(2026, 1, 15, 17, 0), posted, "17:00", "UTC")


def test_close_times_hold_the_local_time_across_dst() -> None:
    # posted Saturday 28 March 2026 at 18:00 CET; closes Sunday 17:00 CEST (15:00 UTC)
    posted = utc(2026, 3, 28, 17, 0)
    closes = scheduling.close_time_of(posted, "17:00", "Europe/Berlin")
    assert closes.astimezone(UTC) == utc(2026, 3, 29, 15, 0)
    # a close time skipped by the jump (02:30) comes right after it
    closes = scheduling.close_time_of(utc(2026, 3, 28, 23, 0), "02:30", "Europe/Berlin")
    assert closes.astimezone(UTC) == utc(2026, 3, 29, 1, 0)


def test_no_question_repeats_until_the_pool_is_used_and_concepts_spread(kb: KnowledgeBase) -> None:
    used: Counter[str] = Counter()
    picks = []
    for day in range(len(kb.questions)):
        q = quiz.choose_question(kb, dict(used), f"T1/C1/{day}")
        used[q.id] += 1
        picks.append(q)
    assert len({q.id for q in picks}) == len(kb.questions)  # every question once
    first_concepts = [q.concepts[0] for q in picks[:40]]
    assert max(Counter(first_concepts).values()) == 1  # 40 posts, 40 different concepts
    again = quiz.choose_question(kb, dict(used), "T1/C1/next")
    assert used[again.id] == 1  # the second round starts


def test_choice_is_deterministic_per_seed(kb: KnowledgeBase) -> None:
    assert quiz.choose_question(kb, {}, "a").id == quiz.choose_question(kb, {}, "a").id


def test_streaks_extend_only_on_the_previous_question() -> None:
    s = scoring.next_streak(0, 0, None, post_id=1, previous_post_id=None, correct=True)
    assert (s.current, s.best) == (1, 1)
    s = scoring.next_streak(s.current, s.best, s.streak_post_id, 2, 1, True)
    assert (s.current, s.best) == (2, 2)
    gap = scoring.next_streak(s.current, s.best, s.streak_post_id, 4, 3, True)  # missed post 3
    assert (gap.current, gap.best) == (1, 2)
    wrong = scoring.next_streak(s.current, s.best, s.streak_post_id, 3, 2, False)
    assert (wrong.current, wrong.best, wrong.streak_post_id) == (0, 2, None)


def test_visible_streak_breaks_when_a_question_was_missed() -> None:
    assert scoring.visible_streak(3, 10, [RecentPost(10, True)]) == 3
    assert (
        scoring.visible_streak(3, 10, [RecentPost(11, True), RecentPost(10, False)]) == 3
    )  # today's still open
    assert (
        scoring.visible_streak(3, 10, [RecentPost(11, False), RecentPost(10, False)]) == 0
    )  # missed 11
    assert scoring.visible_streak(3, 10, [RecentPost(12, True), RecentPost(11, False)]) == 0


def test_ties_share_a_rank() -> None:
    rows = scoring.rank([("a", 5), ("b", 3), ("c", 3), ("d", 1)])
    assert [(r.rank, r.user_id) for r in rows] == [(1, "a"), (2, "b"), (2, "c"), (4, "d")]


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert scoring.period_bounds("week", date(2026, 1, 18)) == (
        date(2026, 1, 12),
        date(2026, 1, 19),
    )
    assert scoring.period_bounds("week", date(2026, 1, 19)) == (
        date(2026, 1, 19),
        date(2026, 1, 26),
    )
    assert scoring.period_bounds("month", date(2026, 12, 31)) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
    )
    assert scoring.period_bounds("all", date(2026, 1, 1)) is None
