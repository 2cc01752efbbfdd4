"""The daily question on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import DailyOn
from bot.daily_service import DailyService, LeaderboardResult, StatsResult
from bot.knowledge_base import KnowledgeBase
from bot.practice_service import PracticeService
from bot.services import Caller, Notice, Study
from bot.storage.repository import Repository
from bot.storage.tables import Answer, DailyPost
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel

TEAM, CHANNEL = "T1", "C1"
ADMIN = Caller(TEAM, "UADMIN", CHANNEL, is_admin=True)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))  # Monday 09:00 Berlin


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def service(
    sessions: sessionmaker[Session], kb: KnowledgeBase, channel: RecordingChannel, clock: Clock
) -> Iterator[DailyService]:
    svc = DailyService(sessions, Study(lambda: kb), channel, clock=clock, refresh_interval=0.05)
    yield svc
    assert svc.refresher.wait_idle()  # no refresh may outlive the test's database


def subscribe(
    service: DailyService,
    at: str = "09:00",
    zone: str = "Europe/Berlin",
    days: str = "weekdays",
    until: time | None = None,
) -> Notice:
    hh, mm = (int(x) for x in at.split(":"))
    return service.subscribe(ADMIN, DailyOn(time(hh, mm), zone, days, until))


def choice_value(post_id: int, index: int) -> str:
    return f"{post_id}:{index}"


def right_and_wrong(service: DailyService, post_id: int) -> tuple[int, int]:
    with service.sessions.begin() as session:
        post = Repository(session).post(post_id)
        assert post is not None
        answer = service.study.kb.questions[post.question_id].answer_index
    return answer, (answer + 1) % len(service.study.kb.questions[post.question_id].choices)


def test_subscribe_reports_the_next_post(service: DailyService, clock: Clock) -> None:
    clock.now = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)  # 08:00 Berlin
    notice = subscribe(service)
    assert "09:00 Europe/Berlin, Monday to Friday" in notice.text
    assert "Next: Mon 12 Jan 09:00 CET" in notice.text
    assert "Next: Mon 12 Jan 09:00 CET" in service.status(ADMIN).text


def test_tick_posts_once_when_due_and_is_safe_to_rerun(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service)
    clock.now = datetime(2026, 1, 12, 7, 59, tzinfo=UTC)
    assert service.tick().posted == []
    clock.now = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    report = service.tick()
    assert len(report.posted) == 1
    for _ in range(3):
        clock.advance(minutes=1)
        assert service.tick().posted == []
    assert len(channel.posts) == 1


def test_weekends_are_skipped_unless_everyday(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service, zone="UTC")
    clock.now = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)  # Saturday
    assert service.tick().posted == []
    subscribe(service, zone="UTC", days="everyday")
    assert len(service.tick().posted) == 1


def test_the_next_post_closes_the_previous_with_its_reveal(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service)
    service.tick()
    first = channel.posts[0]
    right, wrong = right_and_wrong(service, first.post_id)
    assert service.answer(TEAM, "U1", choice_value(first.post_id, right)).status == "recorded"
    assert service.answer(TEAM, "U2", choice_value(first.post_id, wrong)).status == "recorded"
    assert service.answer(TEAM, "U3", choice_value(first.post_id, right)).status == "recorded"
    clock.advance(days=1)
    service.tick()
    assert len(channel.posts) == 2
    reveal = channel.reveals[0]
    assert reveal.post.post_id == first.post_id and reveal.post.closed
    assert reveal.counts == {right: 2, wrong: 1} and reveal.total == 3
    assert reveal.correct_users == ("U1", "U3")
    closed_updates = [u for u in channel.updates if u[1] is not None]
    assert closed_updates[0][0].post_id == first.post_id
    late = service.answer(TEAM, "U4", choice_value(first.post_id, right))
    assert late.status == "closed" and late.question is not None and late.chosen == -1
    again = service.answer(TEAM, "U2", choice_value(first.post_id, right))
    assert again.status == "closed" and again.chosen == wrong and not again.correct
    # nothing was stored or scored after the close
    assert service.stats(Caller(TEAM, "U4", CHANNEL)).answered == 0
    assert service.stats(Caller(TEAM, "U2", CHANNEL)).points == 0


def test_only_the_first_click_counts(service: DailyService, channel: RecordingChannel) -> None:
    subscribe(service)
    service.tick()
    post = channel.posts[0]
    right, wrong = right_and_wrong(service, post.post_id)
    first = service.answer(TEAM, "U1", choice_value(post.post_id, wrong))
    assert first.status == "recorded" and not first.correct
    again = service.answer(TEAM, "U1", choice_value(post.post_id, right))
    assert again.status == "already" and again.chosen == wrong and not again.correct
    stats = service.stats(Caller(TEAM, "U1", CHANNEL))
    assert isinstance(stats, StatsResult)
    assert (stats.answered, stats.correct, stats.points) == (1, 0, 0)


@pytest.mark.parametrize("value", ["", "abc", "1", "x:1", "999999:0", "1:99", "-1:0"])
def test_forged_button_values_change_nothing(
    service: DailyService, channel: RecordingChannel, value: str
) -> None:
    subscribe(service)
    service.tick()
    assert service.answer(TEAM, "U1", value).status == "invalid"
    with service.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == 0


def test_another_teams_post_is_invalid(service: DailyService, channel: RecordingChannel) -> None:
    subscribe(service)
    service.tick()
    outcome = service.answer("T-OTHER", "U1", choice_value(channel.posts[0].post_id, 0))
    assert outcome.status == "invalid"


def test_points_and_streaks_over_several_days(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service, zone="UTC", days="everyday")
    pattern = [True, True, True, False, True, None, True]  # None: did not answer
    for day, good in enumerate(pattern):
        clock.now = datetime(2026, 1, 12 + day, 9, 0, tzinfo=UTC)
        service.tick()
        post = channel.posts[-1]
        if good is not None:
            right, wrong = right_and_wrong(service, post.post_id)
            service.answer(TEAM, "U1", choice_value(post.post_id, right if good else wrong))
        if day == 2:
            s = service.stats(Caller(TEAM, "U1", CHANNEL))
            assert (s.current_streak, s.best_streak) == (3, 3)
    stats = service.stats(Caller(TEAM, "U1", CHANNEL))
    assert (stats.answered, stats.correct, stats.points) == (6, 5, 5)
    assert (stats.current_streak, stats.best_streak) == (1, 3)  # the gap broke the streak
    assert stats.accuracy == pytest.approx(5 / 6)
    clock.now = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    service.tick()  # a new question the user has not answered yet: streak still shown
    assert service.stats(Caller(TEAM, "U1", CHANNEL)).current_streak == 1
    clock.now = datetime(2026, 1, 21, 9, 0, tzinfo=UTC)
    service.tick()  # they missed yesterday's: the streak is over
    assert service.stats(Caller(TEAM, "U1", CHANNEL)).current_streak == 0


def test_leaderboard_ties_share_a_rank_and_show_the_callers_row(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service, zone="UTC", days="everyday")
    # 12 users; user k answers the first k questions of 12 correctly
    for day in range(12):
        clock.now = datetime(2026, 1, 1 + day, 9, 0, tzinfo=UTC)
        service.tick()
        post = channel.posts[-1]
        right, wrong = right_and_wrong(service, post.post_id)
        for k in range(1, 13):
            user = f"U{k:02d}"
            service.answer(TEAM, user, choice_value(post.post_id, right if day < k else wrong))
    service.answer(TEAM, "U02", choice_value(channel.posts[-1].post_id, 0))  # no effect
    board = service.leaderboard(Caller(TEAM, "U01", CHANNEL), "all")
    assert isinstance(board, LeaderboardResult)
    assert [(r.rank, r.user_id, r.points) for r in board.rows[:3]] == [
        (1, "U12", 12),
        (2, "U11", 11),
        (3, "U10", 10),
    ]
    assert len(board.rows) == 10
    assert board.caller is not None and (board.caller.rank, board.caller.points) == (12, 1)


def test_ties_on_the_board(service: DailyService, channel: RecordingChannel) -> None:
    subscribe(service)
    service.tick()
    post = channel.posts[0]
    right, wrong = right_and_wrong(service, post.post_id)
    for user, good in (("UA", True), ("UB", True), ("UC", False)):
        service.answer(TEAM, user, choice_value(post.post_id, right if good else wrong))
    board = service.leaderboard(Caller(TEAM, "UC", CHANNEL), "all")
    assert isinstance(board, LeaderboardResult)
    assert [(r.rank, r.user_id) for r in board.rows] == [(1, "UA"), (1, "UB")]
    assert board.caller is None  # no points yet


def test_week_starts_on_monday_in_the_channels_zone(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service, at="23:30", zone="America/Los_Angeles", days="everyday")
    # Sunday 18 Jan 23:30 in LA is Monday 07:30 UTC: it still belongs to LA's week of the 12th
    clock.now = datetime(2026, 1, 19, 7, 30, tzinfo=UTC)
    service.tick()
    sunday = channel.posts[-1]
    service.answer(
        TEAM, "U1", choice_value(sunday.post_id, right_and_wrong(service, sunday.post_id)[0])
    )
    clock.now = datetime(2026, 1, 20, 7, 30, tzinfo=UTC)  # Monday 19 Jan 23:30 LA
    service.tick()
    monday = channel.posts[-1]
    service.answer(
        TEAM, "U2", choice_value(monday.post_id, right_and_wrong(service, monday.post_id)[0])
    )
    week = service.leaderboard(Caller(TEAM, "U1", CHANNEL), "week")
    assert isinstance(week, LeaderboardResult)
    assert [r.user_id for r in week.rows] == ["U2"] and week.start == "2026-01-19"
    month = service.leaderboard(Caller(TEAM, "U1", CHANNEL), "month")
    assert isinstance(month, LeaderboardResult)
    assert sorted(r.user_id for r in month.rows) == ["U1", "U2"]


def test_leaderboard_without_posts_says_so(service: DailyService) -> None:
    assert isinstance(service.leaderboard(ADMIN, "all"), Notice)


def test_practice_answers_are_kept_but_never_scored(
    service: DailyService, kb: KnowledgeBase, channel: RecordingChannel
) -> None:
    subscribe(service)
    service.tick()
    caller = Caller(TEAM, "U1", CHANNEL)
    question = next(iter(kb.questions.values()))
    practice = PracticeService(service.sessions, service.study, clock=service.clock)
    assert not isinstance(practice.answer(caller, question.id, question.answer_index), Notice)
    stats = service.stats(caller)
    assert (stats.practice_answered, stats.practice_correct, stats.points) == (1, 1, 0)
    board = service.leaderboard(caller, "all")
    assert isinstance(board, LeaderboardResult) and board.rows == ()


def test_weakest_concepts(service: DailyService, kb: KnowledgeBase) -> None:
    caller = Caller(TEAM, "U1", CHANNEL)
    practice = PracticeService(service.sessions, service.study, clock=service.clock)
    for question in list(kb.questions.values())[:6]:
        wrong = (question.answer_index + 1) % len(question.choices)
        assert not isinstance(practice.answer(caller, question.id, wrong), Notice)
    stats = service.stats(caller)
    assert len(stats.weakest) == 3 and all(right == 0 for _c, right, _n in stats.weakest)


def test_two_ticks_at_once_post_once(service: DailyService, channel: RecordingChannel) -> None:
    subscribe(service)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            service.tick()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(channel.posts) == 1


def test_a_crash_between_claim_and_post_is_posted_once_by_a_later_tick(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service)
    with service.sessions.begin() as session:  # a process claimed the slot, then died
        Repository(session).claim_post(
            team_id=TEAM,
            channel_id=CHANNEL,
            slot="2026-01-12",
            local_date=datetime(2026, 1, 12).date(),
            question_id=next(iter(service.study.kb.questions)),
            token="dead-process",
            now=clock.now,
            previous_post_id=None,
        )
    clock.advance(minutes=1)
    assert service.tick().posted == []  # the claim is fresh: maybe still posting
    clock.advance(minutes=2)
    assert len(service.tick().posted) == 1
    clock.advance(minutes=1)
    assert service.tick().posted == []
    assert len(channel.posts) == 1


def test_a_failed_post_is_retried_by_the_next_tick(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service)
    channel.fail_posts = 1
    assert service.tick().posted == []
    clock.advance(minutes=1)
    assert len(service.tick().posted) == 1
    with service.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(DailyPost)) == 1


def test_close_time_closes_the_question_the_same_day(
    service: DailyService, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(service, zone="UTC", until=time(17, 0))
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    service.tick()
    clock.now = datetime(2026, 1, 12, 16, 59, tzinfo=UTC)
    assert service.tick().closed == []
    clock.now = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert service.tick().closed == [channel.posts[0].post_id]
    assert len(channel.reveals) == 1


def test_manual_post_closes_the_open_question(
    service: DailyService, channel: RecordingChannel
) -> None:
    subscribe(service)
    service.tick()
    assert service.post_now(ADMIN).text == "Posted a new question in this channel."
    assert len(channel.posts) == 2 and len(channel.reveals) == 1
    assert channel.posts[0].question.id != channel.posts[1].question.id


def test_answer_counts_reach_the_message_coalesced(
    service: DailyService, channel: RecordingChannel
) -> None:
    subscribe(service)
    service.tick()
    post = channel.posts[0]
    for k in range(30):
        service.answer(TEAM, f"U{k}", choice_value(post.post_id, 0))
    assert service.refresher.wait_idle()
    counts = [view.answer_count for view, reveal in channel.updates if reveal is None]
    assert counts and counts[-1] == 30
    assert len(counts) < 30


def test_unsubscribe_stops_posting(service: DailyService, channel: RecordingChannel) -> None:
    subscribe(service)
    assert "off" in service.unsubscribe(ADMIN).text
    assert service.tick().posted == []
    assert "no daily question to stop" in service.unsubscribe(ADMIN).text
