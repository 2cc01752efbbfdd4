"""The daily question on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import DailyOn
from bot.core import Core
from bot.daily.channel import PostView, Reveal
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller, LeaderboardResult, Notice, StatsResult
from bot.scheduling import CLAIM_LEASE, DaySet
from bot.storage.claims import Claims
from bot.storage.posts import Posts
from bot.storage.tables import DailyPost, StoredAnswer
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
def core(
    sessions: sessionmaker[Session], kb: KnowledgeBase, channel: RecordingChannel, clock: Clock
) -> Iterator[Core]:
    core = Core(Library(lambda: kb), sessions, channel, clock=clock, refresh_interval=0.05)
    yield core
    assert core.wait_idle()  # no refresh may outlive the test's database


def subscribe(
    core: Core,
    at: str = "09:00",
    zone: str = "Europe/Berlin",
    days: str = "weekdays",
    until: time | None = None,
    *,
    earlier: bool = True,
) -> Notice:
    """Subscribe the channel; `earlier`: as an admin did the day before (a schedule set
    after today's posting time starts tomorrow)."""
    hh, mm = (int(x) for x in at.split(":"))
    command = DailyOn(time(hh, mm), zone, DaySet(days), until)
    if not earlier:
        return core.schedules.subscribe(ADMIN, command)
    clock = core.clock
    assert isinstance(clock, Clock)
    now = clock.now
    clock.now = now - timedelta(days=1)
    try:
        return core.schedules.subscribe(ADMIN, command)
    finally:
        clock.now = now


def claim_monday(core: Core, clock: Clock, token: str) -> int:
    """Claim Monday 12 January's slot as another process would; the post id."""
    with core.sessions.begin() as session:
        post_id = Claims(session, DailyPost, CLAIM_LEASE).acquire(
            {"team_id": TEAM, "channel_id": CHANNEL, "slot": "2026-01-12"},
            lambda: {
                "local_date": datetime(2026, 1, 12).date(),
                "question_id": next(iter(core.kb.questions)),
                "previous_post_id": None,
                "shown_count": 0,
            },
            token,
            clock.now,
        )
    assert post_id is not None
    return post_id


def choice_value(post_id: int, index: int) -> str:
    return f"{post_id}:{index}"


def right_and_wrong(core: Core, post_id: int) -> tuple[int, int]:
    with core.sessions.begin() as session:
        post = Posts(session).get(post_id)
        assert post is not None
        answer = core.kb.questions[post.question_id].answer_index
    return answer, (answer + 1) % len(core.kb.questions[post.question_id].choices)


def test_subscribe_reports_the_next_post(core: Core, clock: Clock) -> None:
    clock.now = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)  # 08:00 Berlin
    notice = subscribe(core, earlier=False)
    assert "09:00 Europe/Berlin, Monday to Friday" in notice.text
    assert "Next: Mon 12 Jan 09:00 CET" in notice.text
    assert "Next: Mon 12 Jan 09:00 CET" in core.schedules.status(ADMIN).text


def test_tick_posts_once_when_due_and_is_safe_to_rerun(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core)
    clock.now = datetime(2026, 1, 12, 7, 59, tzinfo=UTC)
    assert core.scheduler.tick().posted == []
    clock.now = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    report = core.scheduler.tick()
    assert len(report.posted) == 1
    for _ in range(3):
        clock.advance(minutes=1)
        assert core.scheduler.tick().posted == []
    assert len(channel.posts) == 1


def test_weekends_are_skipped_unless_everyday(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core, zone="UTC")
    clock.now = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)  # Saturday
    assert core.scheduler.tick().posted == []
    subscribe(core, zone="UTC", days="everyday")
    assert len(core.scheduler.tick().posted) == 1


def test_the_next_post_closes_the_previous_with_its_reveal(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core)
    core.scheduler.tick()
    first = channel.posts[0]
    right, wrong = right_and_wrong(core, first.post_id)
    assert (
        core.answering.answer(TEAM, "U1", choice_value(first.post_id, right)).status == "recorded"
    )
    assert (
        core.answering.answer(TEAM, "U2", choice_value(first.post_id, wrong)).status == "recorded"
    )
    assert (
        core.answering.answer(TEAM, "U3", choice_value(first.post_id, right)).status == "recorded"
    )
    clock.advance(days=1)
    core.scheduler.tick()
    assert len(channel.posts) == 2
    reveal = channel.reveals[0]
    assert reveal.post.post_id == first.post_id and reveal.post.closed
    assert reveal.counts == {right: 2, wrong: 1} and reveal.total == 3
    assert reveal.correct_users == ("U1", "U3")
    closed_updates = [u for u in channel.updates if u[1] is not None]
    assert closed_updates[0][0].post_id == first.post_id
    late = core.answering.answer(TEAM, "U4", choice_value(first.post_id, right))
    assert late.status == "closed" and late.question is not None and late.chosen == -1
    again = core.answering.answer(TEAM, "U2", choice_value(first.post_id, right))
    assert again.status == "closed" and again.chosen == wrong and not again.correct
    # nothing was stored or scored after the close
    assert core.boards.stats(Caller(TEAM, "U4", CHANNEL)).answered == 0
    assert core.boards.stats(Caller(TEAM, "U2", CHANNEL)).points == 0


def test_only_the_first_click_counts(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    core.scheduler.tick()
    post = channel.posts[0]
    right, wrong = right_and_wrong(core, post.post_id)
    first = core.answering.answer(TEAM, "U1", choice_value(post.post_id, wrong))
    assert first.status == "recorded" and not first.correct
    again = core.answering.answer(TEAM, "U1", choice_value(post.post_id, right))
    assert again.status == "already" and again.chosen == wrong and not again.correct
    stats = core.boards.stats(Caller(TEAM, "U1", CHANNEL))
    assert isinstance(stats, StatsResult)
    assert (stats.answered, stats.correct, stats.points) == (1, 0, 0)


@pytest.mark.parametrize("value", ["", "abc", "1", "x:1", "999999:0", "1:99", "-1:0"])
def test_forged_button_values_change_nothing(
    core: Core, channel: RecordingChannel, value: str
) -> None:
    subscribe(core)
    core.scheduler.tick()
    assert core.answering.answer(TEAM, "U1", value).status == "invalid"
    with core.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(StoredAnswer)) == 0


def test_another_teams_post_is_invalid(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    core.scheduler.tick()
    outcome = core.answering.answer("T-OTHER", "U1", choice_value(channel.posts[0].post_id, 0))
    assert outcome.status == "invalid"


def test_points_and_streaks_over_several_days(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core, zone="UTC", days="everyday")
    pattern = [True, True, True, False, True, None, True]  # None: did not answer
    for day, good in enumerate(pattern):
        clock.now = datetime(2026, 1, 12 + day, 9, 0, tzinfo=UTC)
        core.scheduler.tick()
        post = channel.posts[-1]
        if good is not None:
            right, wrong = right_and_wrong(core, post.post_id)
            core.answering.answer(TEAM, "U1", choice_value(post.post_id, right if good else wrong))
        if day == 2:
            s = core.boards.stats(Caller(TEAM, "U1", CHANNEL))
            assert (s.current_streak, s.best_streak) == (3, 3)
    stats = core.boards.stats(Caller(TEAM, "U1", CHANNEL))
    assert (stats.answered, stats.correct, stats.points) == (6, 5, 5)
    assert (stats.current_streak, stats.best_streak) == (1, 3)  # the gap broke the streak
    assert stats.accuracy == pytest.approx(5 / 6)
    clock.now = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    core.scheduler.tick()  # a new question the user has not answered yet: streak still shown
    assert core.boards.stats(Caller(TEAM, "U1", CHANNEL)).current_streak == 1
    clock.now = datetime(2026, 1, 21, 9, 0, tzinfo=UTC)
    core.scheduler.tick()  # they missed yesterday's: the streak is over
    assert core.boards.stats(Caller(TEAM, "U1", CHANNEL)).current_streak == 0


def test_leaderboard_ties_share_a_rank_and_show_the_callers_row(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    subscribe(core, zone="UTC", days="everyday")
    # 12 users; user k answers the first k questions of 12 correctly
    for day in range(12):
        clock.now = datetime(2026, 1, 1 + day, 9, 0, tzinfo=UTC)
        core.scheduler.tick()
        post = channel.posts[-1]
        right, wrong = right_and_wrong(core, post.post_id)
        for k in range(1, 13):
            user = f"U{k:02d}"
            core.answering.answer(
                TEAM, user, choice_value(post.post_id, right if day < k else wrong)
            )
    core.answering.answer(TEAM, "U02", choice_value(channel.posts[-1].post_id, 0))  # no effect
    board = core.boards.leaderboard(Caller(TEAM, "U01", CHANNEL), "all")
    assert isinstance(board, LeaderboardResult)
    assert [(r.rank, r.user_id, r.points) for r in board.rows[:3]] == [
        (1, "U12", 12),
        (2, "U11", 11),
        (3, "U10", 10),
    ]
    assert len(board.rows) == 10
    assert board.caller is not None and (board.caller.rank, board.caller.points) == (12, 1)


def test_ties_on_the_board(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    core.scheduler.tick()
    post = channel.posts[0]
    right, wrong = right_and_wrong(core, post.post_id)
    for user, good in (("UA", True), ("UB", True), ("UC", False)):
        core.answering.answer(TEAM, user, choice_value(post.post_id, right if good else wrong))
    board = core.boards.leaderboard(Caller(TEAM, "UC", CHANNEL), "all")
    assert isinstance(board, LeaderboardResult)
    assert [(r.rank, r.user_id) for r in board.rows] == [(1, "UA"), (1, "UB")]
    assert board.caller is None  # no points yet


def test_week_starts_on_monday_in_the_channels_zone(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core, at="23:30", zone="America/Los_Angeles", days="everyday")
    # Sunday 18 Jan 23:30 in LA is Monday 07:30 UTC: it still belongs to LA's week of the 12th
    clock.now = datetime(2026, 1, 19, 7, 30, tzinfo=UTC)
    core.scheduler.tick()
    sunday = channel.posts[-1]
    core.answering.answer(
        TEAM, "U1", choice_value(sunday.post_id, right_and_wrong(core, sunday.post_id)[0])
    )
    clock.now = datetime(2026, 1, 20, 7, 30, tzinfo=UTC)  # Monday 19 Jan 23:30 LA
    core.scheduler.tick()
    monday = channel.posts[-1]
    core.answering.answer(
        TEAM, "U2", choice_value(monday.post_id, right_and_wrong(core, monday.post_id)[0])
    )
    week = core.boards.leaderboard(Caller(TEAM, "U1", CHANNEL), "week")
    assert isinstance(week, LeaderboardResult)
    assert [r.user_id for r in week.rows] == ["U2"] and week.start == "2026-01-19"
    month = core.boards.leaderboard(Caller(TEAM, "U1", CHANNEL), "month")
    assert isinstance(month, LeaderboardResult)
    assert sorted(r.user_id for r in month.rows) == ["U1", "U2"]


def test_leaderboard_without_posts_says_so(core: Core) -> None:
    assert isinstance(core.boards.leaderboard(ADMIN, "all"), Notice)


def test_practice_answers_are_kept_but_never_scored(
    core: Core, kb: KnowledgeBase, channel: RecordingChannel
) -> None:
    subscribe(core)
    core.scheduler.tick()
    caller = Caller(TEAM, "U1", CHANNEL)
    question = next(iter(kb.questions.values()))
    practice = core.practice
    assert not isinstance(practice.answer(caller, question.id, question.answer_index), Notice)
    stats = core.boards.stats(caller)
    assert (stats.practice_answered, stats.practice_correct, stats.points) == (1, 1, 0)
    board = core.boards.leaderboard(caller, "all")
    assert isinstance(board, LeaderboardResult) and board.rows == ()


def test_weakest_concepts(core: Core, kb: KnowledgeBase) -> None:
    caller = Caller(TEAM, "U1", CHANNEL)
    practice = core.practice
    for question in list(kb.questions.values())[:6]:
        wrong = (question.answer_index + 1) % len(question.choices)
        assert not isinstance(practice.answer(caller, question.id, wrong), Notice)
    stats = core.boards.stats(caller)
    assert len(stats.weakest) == 3 and all(right == 0 for _c, right, _n in stats.weakest)


def test_two_ticks_at_once_post_once(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            core.scheduler.tick()
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
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core)
    claim_monday(core, clock, "dead-process")  # a process claimed the slot, then died
    clock.advance(minutes=1)
    assert core.scheduler.tick().posted == []  # the claim is fresh: maybe still posting
    clock.advance(minutes=2)
    assert len(core.scheduler.tick().posted) == 1
    clock.advance(minutes=1)
    assert core.scheduler.tick().posted == []
    assert len(channel.posts) == 1


def test_a_failed_post_is_retried_by_the_next_tick(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core)
    channel.fail_posts = 1
    assert core.scheduler.tick().posted == []
    clock.advance(minutes=1)
    assert len(core.scheduler.tick().posted) == 1
    with core.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(DailyPost)) == 1


def test_close_time_closes_the_question_the_same_day(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core, zone="UTC", until=time(17, 0))
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.scheduler.tick()
    clock.now = datetime(2026, 1, 12, 16, 59, tzinfo=UTC)
    assert core.scheduler.tick().closed == []
    clock.now = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert core.scheduler.tick().closed == [channel.posts[0].post_id]
    assert len(channel.reveals) == 1


def test_manual_post_closes_the_open_question(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    core.scheduler.tick()
    assert core.scheduler.post_now(ADMIN).text == "Posted a new question in this channel."
    assert len(channel.posts) == 2 and len(channel.reveals) == 1
    assert channel.posts[0].question.id != channel.posts[1].question.id


def test_answer_counts_reach_the_message_coalesced(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    core.scheduler.tick()
    post = channel.posts[0]
    for k in range(30):
        core.answering.answer(TEAM, f"U{k}", choice_value(post.post_id, 0))
    assert core.wait_idle()
    counts = [view.answer_count for view, reveal in channel.updates if reveal is None]
    assert counts and counts[-1] == 30
    assert len(counts) < 30


def test_unsubscribe_stops_posting(core: Core, channel: RecordingChannel) -> None:
    subscribe(core)
    assert "off" in core.schedules.unsubscribe(ADMIN).text
    assert core.scheduler.tick().posted == []
    assert "no daily question to stop" in core.schedules.unsubscribe(ADMIN).text


def test_a_schedule_set_after_its_time_today_starts_tomorrow_as_the_reply_says(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 30, 0, 36, tzinfo=UTC)  # Monday 00:36
    notice = subscribe(core, at="00:05", zone="UTC", days="everyday", earlier=False)
    assert "Next: Tue 01 Dec 00:05" in notice.text
    assert core.scheduler.tick().posted == []
    clock.now = datetime(2026, 12, 1, 0, 4, tzinfo=UTC)  # a minute before
    assert core.scheduler.tick().posted == []
    clock.now = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)  # at the slot
    assert len(core.scheduler.tick().posted) == 1
    clock.now = datetime(2026, 12, 1, 0, 6, tzinfo=UTC)  # a minute after: posted once
    assert core.scheduler.tick().posted == []
    assert len(channel.posts) == 1


def test_a_window_already_past_today_neither_posts_nor_closes_until_tomorrow(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 30, 0, 35, tzinfo=UTC)
    subscribe(core, at="00:10", zone="UTC", days="everyday", until=time(0, 20), earlier=False)
    for minutes in (0, 1, 2):
        clock.now = datetime(2026, 11, 30, 0, 35 + minutes, tzinfo=UTC)
        report = core.scheduler.tick()
        assert report.posted == [] and report.closed == []
    clock.now = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
    assert len(core.scheduler.tick().posted) == 1
    clock.now = datetime(2026, 12, 1, 0, 19, tzinfo=UTC)
    assert core.scheduler.tick().closed == []
    clock.now = datetime(2026, 12, 1, 0, 20, tzinfo=UTC)
    assert len(core.scheduler.tick().closed) == 1


def test_a_manual_post_after_the_close_time_stays_open_until_the_next_close(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 14, 8, 0, tzinfo=UTC)
    subscribe(core, at="09:00", zone="UTC", until=time(17, 0), earlier=False)
    clock.now = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)  # after today's 17:00 close
    assert not core.scheduler.post_now(ADMIN).error
    post = channel.posts[-1]
    clock.now = datetime(2026, 1, 14, 18, 0, 30, tzinfo=UTC)
    assert core.scheduler.tick().closed == []
    clock.now = datetime(2026, 1, 15, 8, 59, tzinfo=UTC)
    assert core.scheduler.tick().closed == []
    assert core.answering.answer(TEAM, "U1", f"{post.post_id}:0").status == "recorded"
    clock.now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # the next question closes it
    report = core.scheduler.tick()
    assert report.closed == [] and len(report.posted) == 1
    assert [r.post.post_id for r in channel.reveals] == [post.post_id]


def test_a_post_whose_answer_is_lost_is_never_posted_again(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core)
    channel.lose_posts = 1  # Slack took it, but its reply never came
    report = core.scheduler.tick()
    assert report.posted == [] and report.failed == [CHANNEL]
    for _ in range(5):  # later ticks, after the claim's lease too
        clock.advance(minutes=3)
        assert core.scheduler.tick().posted == []
    assert len(channel.posts) == 1  # one message in the channel, not two


def test_a_failed_manual_post_keeps_the_open_question_and_the_streaks(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core, days="everyday")
    core.scheduler.tick()  # Monday's question
    first = channel.posts[-1]
    right = first.question.answer_index
    assert core.answering.answer(TEAM, "U1", f"{first.post_id}:{right}").status == "recorded"
    channel.fail_posts = 1
    notice = core.scheduler.post_now(ADMIN)
    assert notice.error and "nothing was posted" in notice.text
    assert channel.reveals == []  # the open question was not closed
    assert core.answering.answer(TEAM, "U2", f"{first.post_id}:{right}").status == "recorded"
    with core.sessions.begin() as session:
        failed = session.scalars(select(DailyPost).where(DailyPost.status == "failed")).one()
    # the row that never reached Slack takes no answers and does not count for streaks
    assert core.answering.answer(TEAM, "U1", f"{failed.id}:0").status == "invalid"
    clock.advance(days=1)
    core.scheduler.tick()  # Tuesday's question follows Monday's
    second = channel.posts[-1]
    right = second.question.answer_index
    core.answering.answer(TEAM, "U1", f"{second.post_id}:{right}")
    assert core.boards.stats(Caller(TEAM, "U1", CHANNEL)).current_streak == 2
    assert [r.post.post_id for r in channel.reveals] == [first.post_id]


def test_a_refused_reveal_is_retried_by_the_next_tick(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core, zone="UTC", until=time(17, 0))
    clock.now = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    core.scheduler.tick()
    channel.fail_reveals = 1
    clock.now = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert core.scheduler.tick().closed == [channel.posts[0].post_id]
    assert channel.reveals == []
    clock.advance(minutes=1)
    core.scheduler.tick()
    assert [r.post.post_id for r in channel.reveals] == [channel.posts[0].post_id]
    clock.advance(minutes=1)
    core.scheduler.tick()
    assert len(channel.reveals) == 1  # revealed once


def test_a_process_that_died_while_sending_is_not_overtaken(
    core: Core, channel: RecordingChannel, clock: Clock
) -> None:
    subscribe(core)
    post_id = claim_monday(core, clock, "killed-process")  # claimed, handed to Slack,
    with core.sessions.begin() as session:  # then the process was killed (-9)
        assert Claims(session, DailyPost, CLAIM_LEASE).sending(post_id, "killed-process")
    for _ in range(4):  # long after the lease: the message may be on screen, so no retake
        clock.advance(minutes=3)
        assert core.scheduler.tick().posted == []
    assert channel.posts == []


def test_two_processes_share_one_count_refresh_per_interval_and_show_the_last_count(
    sessions: sessionmaker[Session], kb: KnowledgeBase, clock: Clock
) -> None:
    channels = (RecordingChannel(), RecordingChannel())
    first, second = (
        Core(Library(lambda: kb), sessions, ch, clock=clock, refresh_interval=0.3)
        for ch in channels
    )
    subscribe(first)
    first.scheduler.tick()
    post = channels[0].posts[0]
    for k in range(30):  # a burst of clicks spread over both processes
        (first if k % 2 else second).answering.answer(TEAM, f"U{k:02d}", f"{post.post_id}:0")
    assert first.wait_idle() and second.wait_idle()
    counts = [v.answer_count for ch in channels for v, reveal in ch.updates if reveal is None]
    assert 30 in counts  # the last word is the exact count
    assert len(counts) <= 2  # one per interval for both processes together, not per process
    with sessions.begin() as session:
        stored = session.get(DailyPost, post.post_id)
        assert stored is not None and stored.shown_count == 30


class ClosesDuringTheCountUpdate(RecordingChannel):
    """Slack shows a close that landed while a count update was on its way: the close's
    update arrives first, the (older) count update after it."""

    core: Core | None = None

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        if reveal is None and self.core is not None and not view.closed:
            core, self.core = self.core, None
            core.scheduler.close(view.post_id)
        super().update_question(view, reveal)


def test_a_count_update_racing_a_close_leaves_the_question_closed(
    sessions: sessionmaker[Session], kb: KnowledgeBase, clock: Clock
) -> None:
    channel = ClosesDuringTheCountUpdate()
    core = Core(Library(lambda: kb), sessions, channel, clock=clock, refresh_interval=0.05)
    subscribe(core)
    core.scheduler.tick()
    post = channel.posts[0]
    channel.core = core
    core.answering.answer(TEAM, "U1", f"{post.post_id}:0")
    assert core.wait_idle()
    last_view, last_reveal = channel.updates[-1]
    assert last_view.closed and last_reveal is not None  # the result, not the buttons
