"""Leaderboards and a person's daily record in a channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import scheduling
from bot.library import KnowledgeSource
from bot.results import Caller, ConceptRecord, LeaderboardResult, Notice, StatsResult
from bot.scoring import Period, Ranked, RecentPost, period_bounds, rank, visible_streak
from bot.storage.answers import Answers
from bot.storage.posts import Posts
from bot.storage.scores import Scores
from bot.storage.subscriptions import Subscriptions
from bot.storage.tables import AnswerKind, ClaimStatus

BOARD_SIZE = 10
WEAKEST = 3
NO_POSTS = (
    "No daily questions in this channel yet. An admin can start them with "
    "`/virtsec daily on 09:00 Europe/Berlin`."
)


class Boards:
    """Ranks and records, read from the running scores the click path keeps."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeSource,
        clock: Callable[[], datetime],
    ):
        self.sessions = sessions
        self.knowledge = knowledge
        self.clock = clock

    def leaderboard(self, caller: Caller, period: Period) -> LeaderboardResult | Notice:
        """Top 10 for the channel and the caller's own rank."""
        team, channel, user = caller.team_id, caller.channel_id, caller.user_id
        with self.sessions.begin() as session:
            if Posts(session).last_id(team, channel) is None:
                return Notice(NO_POSTS)
            scores = Scores(session)
            zone = Subscriptions(session).timezone(team, channel)
            bounds = period_bounds(period, scheduling.local_date(self.clock(), zone))
            if bounds is None:
                top = rank(scores.top(team, channel, BOARD_SIZE))
                mine = scores.get(team, channel, user)
                me = None
                if mine is not None and mine.points > 0:
                    above = scores.count_above(team, channel, mine.points)
                    me = Ranked(above + 1, user, mine.points)
                return LeaderboardResult(period, tuple(top), me, user)
            start = bounds[0]
            top = rank(scores.period_top(team, channel, period, start, BOARD_SIZE))
            points = scores.period_points(team, channel, period, start, user)
            me = None
            if points:
                above = scores.period_count_above(team, channel, period, start, points)
                me = Ranked(above + 1, user, points)
            return LeaderboardResult(period, tuple(top), me, user, start.isoformat())

    def stats(self, caller: Caller) -> StatsResult:
        """The caller's daily record in this channel and weakest concepts overall."""
        with self.sessions.begin() as session:
            score = Scores(session).get(caller.team_id, caller.channel_id, caller.user_id)
            latest = [
                RecentPost(p.id, p.status == ClaimStatus.POSTED)
                for p in Posts(session).latest(caller.team_id, caller.channel_id)
            ]
            answers = Answers(session).of_user(caller.team_id, caller.user_id)
        kb = self.knowledge.kb
        per_concept: dict[str, list[int]] = {}
        for answer in answers:
            question = kb.questions.get(answer.question_id)
            if question is None:
                continue
            right_total = per_concept.setdefault(question.concepts[0], [0, 0])
            right_total[0] += int(answer.correct)
            right_total[1] += 1
        weakest = sorted(
            (
                ConceptRecord(kb.concepts[c], right, total)
                for c, (right, total) in per_concept.items()
                if c in kb.concepts and right < total
            ),
            key=lambda r: (r.right / r.answered, -(r.answered - r.right), r.concept.id),
        )[:WEAKEST]
        practice = [a for a in answers if a.kind == AnswerKind.PRACTICE]
        streak = 0
        if score is not None:
            streak = visible_streak(score.current_streak, score.streak_post_id, latest)
        return StatsResult(
            answered=score.answered if score else 0,
            correct=score.correct if score else 0,
            points=score.points if score else 0,
            current_streak=streak,
            best_streak=score.best_streak if score else 0,
            practice_answered=len(practice),
            practice_correct=sum(1 for a in practice if a.correct),
            weakest=tuple(weakest),
        )

    def home_channel(self, team_id: str, user_id: str) -> str | None:
        """The channel of the person's latest daily answer (their "home" board)."""
        with self.sessions.begin() as session:
            return Answers(session).latest_daily_channel(team_id, user_id)
