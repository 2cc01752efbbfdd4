"""Answering a daily question: the click path, and the live answer count on the post."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.coalescer import Coalescer
from bot.daily.channel import Channel, ChannelFailed, Reveal, post_view
from bot.library import KnowledgeSource
from bot.results import DailyAnswerResult
from bot.scoring import ClickStatus, Period, period_bounds
from bot.storage.answers import Answers
from bot.storage.clicks import ClickLedger, Grade, PostRow
from bot.storage.posts import Posts
from bot.storage.tables import ClaimStatus

logger = logging.getLogger(__name__)

MAX_ID_DIGITS = 12


def parse_answer_value(value: str) -> tuple[int, int] | None:
    """A daily answer button's value, "<post id>:<choice>"; None unless both are plain
    ASCII numbers of sensible length."""
    post_text, _, choice_text = value.partition(":")
    for text in (post_text, choice_text):
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
            return None
    return int(post_text), int(choice_text)


class Answering:
    """Records clicks (the first answer of each person counts, once) and keeps the count
    shown on the post fresh, at most once per `refresh_interval` seconds per post."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeSource,
        channel: Channel,
        clock: Callable[[], datetime],
        refresh_interval: float = 2.0,
    ):
        self.sessions = sessions
        self.knowledge = knowledge
        self.channel = channel
        self.clock = clock
        self.ledger = ClickLedger(sessions)
        # Slack's rate limits run on real time, whatever clock the rest follows
        self.wall: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.refresher: Coalescer[int] = Coalescer(
            "the answer count on daily post", refresh_interval, self.refresh_count
        )

    def answer(
        self, team_id: str, user_id: str, value: str, channel_id: str | None = None
    ) -> DailyAnswerResult:
        """Record a click on an answer button whose value is "<post id>:<choice>"; with
        `channel_id`, only a click in the post's own channel counts."""
        parsed = parse_answer_value(value)
        if parsed is None:
            return DailyAnswerResult(ClickStatus.INVALID)
        post_id, choice = parsed
        kb = self.knowledge.kb

        def grade(post: PostRow) -> Grade | None:
            question = kb.questions.get(post.question_id)
            if post.team_id != team_id or question is None:
                return None
            if channel_id is not None and post.channel_id != channel_id:
                return None
            if not 0 <= choice < len(question.choices):
                return None
            week = period_bounds(Period.WEEK, post.local_date)
            month = period_bounds(Period.MONTH, post.local_date)
            assert week is not None and month is not None
            return Grade(choice, choice == question.answer_index, week[0], month[0])

        click = self.ledger.record(post_id, user_id, self.clock(), grade)
        if click.status == ClickStatus.INVALID or click.post is None:
            return DailyAnswerResult(ClickStatus.INVALID)
        question = kb.questions[click.post.question_id]
        if click.status == ClickStatus.RECORDED:  # committed: the count can be refreshed
            self.refresher.request(post_id)
        return DailyAnswerResult(
            click.status,
            question,
            click.choice,
            click.correct,
            kb.concepts_of(question.concepts),
        )

    def refresh_count(self, post_id: int) -> float | None:
        """Show the current answer count on the question: coalesced in this process by
        `refresher`, and across processes by the post row (one refresh per interval for
        all of them). When another process refreshed it just now, look again once the
        interval is over (seconds returned), so the last count is the one shown."""
        with self.sessions.begin() as session:
            posts = Posts(session)
            post = posts.get(post_id)
            if post is None or post.status != ClaimStatus.POSTED or post.message_ts is None:
                return None
            count = Answers(session).count(post_id)
            if count == post.shown_count:
                return None
            interval = timedelta(seconds=self.refresher.interval)
            if not posts.claim_refresh(post_id, count, self.wall(), interval):
                return self.refresher.interval
            view = post_view(self.knowledge.kb, post, count)
        try:
            self.channel.update_question(view)
        except ChannelFailed as exc:  # Slack (or the rate budget) refused: try again later
            logger.warning("the count on post %s was not refreshed (%s)", post_id, exc.reason)
            with self.sessions.begin() as session:
                Posts(session).unshow(post_id, count)
            return self.refresher.interval
        self._unless_closed_meanwhile(post_id)
        return None

    def _unless_closed_meanwhile(self, post_id: int) -> None:
        """A close that landed while the count went out may have been overwritten by it
        (the buttons back on a closed question): show the result once more."""
        with self.sessions.begin() as session:
            post = Posts(session).get(post_id)
            if post is None or post.status != ClaimStatus.CLOSED:
                return
            answers = Answers(session)
            counts = answers.choice_counts(post_id)
            view = post_view(self.knowledge.kb, post, sum(counts.values()))
            reveal = Reveal(view, counts, tuple(answers.correct_users(post_id)))
        self.channel.update_question(view, reveal)

    def open_post_id(self, team_id: str, channel_id: str) -> int | None:
        """The newest open question in a channel (what a letter typed in the console
        answers)."""
        with self.sessions.begin() as session:
            posts = Posts(session).open(team_id, channel_id)
            return posts[-1].id if posts else None
