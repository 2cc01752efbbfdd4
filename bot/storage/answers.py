"""The hot path of a daily answer in SQLAlchemy Core: four prepared statements, no ORM.

A click reads the post, inserts the answer (`ON CONFLICT DO NOTHING`: the first click
wins), upserts the person's running score with the streak rule in SQL, and adds the
week and month points. Statements are built once per dialect and reused, so each
click costs only parameter binding and the round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.tables import Answer, DailyPost, PeriodScore, Score

posts: Table = DailyPost.__table__  # type: ignore[assignment]
answers: Table = Answer.__table__  # type: ignore[assignment]
scores: Table = Score.__table__  # type: ignore[assignment]
periods: Table = PeriodScore.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class PostRow:
    """What a click needs to know about a post."""

    id: int
    team_id: str
    channel_id: str
    question_id: str
    status: str
    local_date: date
    previous_post_id: int | None


_READ_POST = select(posts.c.id, posts.c.team_id, posts.c.channel_id, posts.c.question_id,
                    posts.c.status, posts.c.local_date, posts.c.previous_post_id).where(
    posts.c.id == bindparam("post_id"))

_READ_ANSWER = select(answers.c.choice, answers.c.correct).where(
    answers.c.post_id == bindparam("post_id"), answers.c.user_id == bindparam("user_id"))

_STATEMENTS: dict[str, tuple[Any, Any, Any]] = {}


def _statements(dialect: str) -> tuple[Any, Any, Any]:
    """(insert answer, upsert score, add period points) for a dialect, built once."""
    if dialect in _STATEMENTS:
        return _STATEMENTS[dialect]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    add_answer = insert(answers).values(
        team_id=bindparam("team_id"), channel_id=bindparam("channel_id"),
        user_id=bindparam("user_id"), kind=literal("daily"), post_id=bindparam("post_id"),
        question_id=bindparam("question_id"), choice=bindparam("choice"),
        correct=bindparam("correct"), local_date=bindparam("local_date"),
        answered_at=bindparam("now"),
    ).on_conflict_do_nothing(index_elements=["post_id", "user_id"]).returning(answers.c.id)
    correct = bindparam("correct", type_=Boolean())
    extends = and_(correct, scores.c.streak_post_id == bindparam("previous_post_id",
                                                                 type_=Integer()))
    current = case((extends, scores.c.current_streak + 1), (correct, 1), else_=0)
    first = insert(scores).values(
        team_id=bindparam("team_id"), channel_id=bindparam("channel_id"),
        user_id=bindparam("user_id"), points=bindparam("point"), answered=1,
        correct=bindparam("point"), current_streak=bindparam("point"),
        best_streak=bindparam("point"), streak_post_id=bindparam("streak_post_id"))
    upsert_score = first.on_conflict_do_update(
        index_elements=["team_id", "channel_id", "user_id"],
        set_={
            "points": scores.c.points + bindparam("point"),
            "answered": scores.c.answered + 1,
            "correct": scores.c.correct + bindparam("point"),
            "current_streak": current,
            "best_streak": case((current > scores.c.best_streak, current),
                                else_=scores.c.best_streak),
            "streak_post_id": bindparam("streak_post_id"),
        })
    # one row per period, run as an executemany: a multi-row VALUES has no cache key and
    # would be compiled again on every click
    add_points = insert(periods).values(
        team_id=bindparam("team_id"), channel_id=bindparam("channel_id"),
        user_id=bindparam("user_id"), period=bindparam("period"), start=bindparam("start"),
        points=1,
    ).on_conflict_do_update(
        index_elements=["team_id", "channel_id", "period", "start", "user_id"],
        set_={"points": periods.c.points + 1})
    _STATEMENTS[dialect] = (add_answer, upsert_score, add_points)
    return _STATEMENTS[dialect]


def read_post(conn: Connection, post_id: int) -> PostRow | None:
    """The post a click is about."""
    row = conn.execute(_READ_POST, {"post_id": post_id}).first()
    return PostRow(*row) if row else None


def read_answer(conn: Connection, post_id: int, user_id: str) -> tuple[int, bool] | None:
    """A person's recorded (choice, correct) for a post."""
    row = conn.execute(_READ_ANSWER, {"post_id": post_id, "user_id": user_id}).first()
    return (int(row[0]), bool(row[1])) if row else None


def record(conn: Connection, post: PostRow, user_id: str, choice: int, correct: bool,
           now: datetime, week: date, month: date) -> bool:
    """Store a first answer and its points and streak; False if the person had answered."""
    add_answer, upsert_score, add_points = _statements(conn.dialect.name)
    params = {"team_id": post.team_id, "channel_id": post.channel_id, "user_id": user_id,
              "post_id": post.id, "question_id": post.question_id, "choice": choice,
              "correct": correct, "local_date": post.local_date, "now": now}
    if conn.execute(add_answer, params).first() is None:
        return False
    conn.execute(upsert_score, {
        "team_id": post.team_id, "channel_id": post.channel_id, "user_id": user_id,
        "point": int(correct), "correct": correct, "previous_post_id": post.previous_post_id,
        "streak_post_id": post.id if correct else None})
    if correct:
        where = {"team_id": post.team_id, "channel_id": post.channel_id, "user_id": user_id}
        conn.execute(add_points, [{**where, "period": "week", "start": week},
                                  {**where, "period": "month", "start": month}])
    return True
