"""The hot path of a daily answer in SQLAlchemy Core: prepared statements, no ORM.

A click reads the post, inserts the answer (`ON CONFLICT DO NOTHING`: the first click
wins), upserts the person's running score with the streak rule in SQL, and adds the
week and month points. On PostgreSQL the three writes are one statement that also
checks the post is still open (one round trip; the caller may remember a post's fixed
fields); SQLite, in-process, reads the post and runs the writes one after the other in
its transaction. Statements are built once and reused, so each click costs only
parameter binding and the round trips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    literal,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import insert as insert_pg
from sqlalchemy.orm import Session, sessionmaker

from bot.scoring import ClickStatus
from bot.storage.db import core_transaction
from bot.storage.tables import ClaimStatus, DailyPost, PeriodScore, Score, StoredAnswer

posts: Table = DailyPost.__table__  # type: ignore[assignment]
answers: Table = StoredAnswer.__table__  # type: ignore[assignment]
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


_READ_POST = select(
    posts.c.id,
    posts.c.team_id,
    posts.c.channel_id,
    posts.c.question_id,
    posts.c.status,
    posts.c.local_date,
    posts.c.previous_post_id,
).where(posts.c.id == bindparam("post_id"))

_READ_STATUS = select(posts.c.status).where(posts.c.id == bindparam("post_id"))

#: only a posted question takes answers: a claim may never reach Slack (and is on screen
#: for a few milliseconds at most before it is marked posted)
OPEN_STATUSES = (ClaimStatus.POSTED,)
SEEN_STATUSES = (ClaimStatus.POSTED, ClaimStatus.CLOSED)  # questions people saw

_READ_ANSWER = select(answers.c.choice, answers.c.correct).where(
    answers.c.post_id == bindparam("post_id"), answers.c.user_id == bindparam("user_id")
)

# the parameters of a click, typed so PostgreSQL knows them inside INSERT ... SELECT
_TEAM, _CHANNEL, _USER = (
    bindparam(name, type_=String()) for name in ("team_id", "channel_id", "user_id")
)
_CORRECT = bindparam("correct", type_=Boolean())
_POINT = bindparam("point", type_=Integer())  # 1 for a right answer, else 0
_STREAK_POST = bindparam("streak_post_id", type_=Integer())  # the post, if right
_PERIOD_KEYS = ["team_id", "channel_id", "period", "start", "user_id"]


def _add_answer(insert: Any) -> Any:
    """Insert the answer unless the person already answered this post; RETURNING its id."""
    return (
        insert(answers)
        .values(
            team_id=_TEAM,
            channel_id=_CHANNEL,
            user_id=_USER,
            kind=literal("daily"),
            post_id=bindparam("post_id", type_=Integer()),
            question_id=bindparam("question_id", type_=String()),
            choice=bindparam("choice", type_=Integer()),
            correct=_CORRECT,
            local_date=bindparam("local_date", type_=Date()),
            answered_at=bindparam("now", type_=DateTime(timezone=True)),
        )
        .on_conflict_do_nothing(index_elements=["post_id", "user_id"])
        .returning(answers.c.id)
    )


def _score_rule() -> tuple[dict[str, Any], dict[str, Any]]:
    """(a person's first score row, the update of an existing one): points, and the streak
    that grows when the previous daily post of the channel was also answered right."""
    first = {
        "team_id": _TEAM,
        "channel_id": _CHANNEL,
        "user_id": _USER,
        "points": _POINT,
        "answered": literal(1),
        "correct": _POINT,
        "current_streak": _POINT,
        "best_streak": _POINT,
        "streak_post_id": _STREAK_POST,
    }
    extends = and_(
        _CORRECT, scores.c.streak_post_id == bindparam("previous_post_id", type_=Integer())
    )
    current = case((extends, scores.c.current_streak + 1), (_CORRECT, 1), else_=0)
    update = {
        "points": scores.c.points + _POINT,
        "answered": scores.c.answered + 1,
        "correct": scores.c.correct + _POINT,
        "current_streak": current,
        "best_streak": case((current > scores.c.best_streak, current), else_=scores.c.best_streak),
        "streak_post_id": _STREAK_POST,
    }
    return first, update


def _sqlite_statements() -> tuple[Any, Any, Any]:
    """(insert answer, upsert score, add period points), run one after the other."""
    first, update = _score_rule()
    upsert_score = (
        sqlite.insert(scores)
        .values(**first)
        .on_conflict_do_update(index_elements=["team_id", "channel_id", "user_id"], set_=update)
    )
    # one row per period, run as an executemany: a multi-row VALUES has no cache key and
    # would be compiled again on every click
    add_points = (
        sqlite.insert(periods)
        .values(
            team_id=_TEAM,
            channel_id=_CHANNEL,
            user_id=_USER,
            period=bindparam("period"),
            start=bindparam("start"),
            points=1,
        )
        .on_conflict_do_update(index_elements=_PERIOD_KEYS, set_={"points": periods.c.points + 1})
    )
    return _add_answer(sqlite.insert), upsert_score, add_points


def _postgresql_statement() -> Any:
    """The whole click as one statement (one round trip): the answer, if the post is
    still open, then, only if the answer was new, the score and (if right) the week's
    and month's points, as data-modifying CTEs. Selects the new answer's id: no row
    when the person had answered already or the post has closed."""
    insert = insert_pg
    columns: dict[str, Any] = {
        "team_id": _TEAM,
        "channel_id": _CHANNEL,
        "user_id": _USER,
        "kind": literal("daily"),
        "post_id": bindparam("post_id", type_=Integer()),
        "question_id": bindparam("question_id", type_=String()),
        "choice": bindparam("choice", type_=Integer()),
        "correct": _CORRECT,
        "local_date": bindparam("local_date", type_=Date()),
        "answered_at": bindparam("now", type_=DateTime(timezone=True)),
    }
    still_open = select(*columns.values()).where(
        posts.c.id == bindparam("post_id", type_=Integer()), posts.c.status.in_(OPEN_STATUSES)
    )
    new = (
        insert(answers)
        .from_select(list(columns), still_open)
        .on_conflict_do_nothing(index_elements=["post_id", "user_id"])
        .returning(answers.c.id)
        .cte("new_answer")
    )
    first, update = _score_rule()
    score = (
        insert(scores)
        .from_select(
            list(first),
            select(*first.values()).select_from(new),
        )
        .on_conflict_do_update(
            index_elements=["team_id", "channel_id", "user_id"],
            set_=update,
        )
        .returning(scores.c.id)
        .cte("score")
    )

    return select(new.c.id).add_cte(
        score, _pg_add_points(new, "week"), _pg_add_points(new, "month")
    )


def _pg_add_points(new: Any, period: str) -> Any:
    """A CTE adding a point for the period, if the new answer (CTE `new`) is right. One per
    period: a VALUES list of both would have no cache key."""
    return (
        insert_pg(periods)
        .from_select(
            ["team_id", "channel_id", "user_id", "period", "start", "points"],
            select(
                _TEAM, _CHANNEL, _USER, literal(period), bindparam(period, type_=Date()), literal(1)
            )
            .select_from(new)
            .where(_CORRECT),
        )
        .on_conflict_do_update(index_elements=_PERIOD_KEYS, set_={"points": periods.c.points + 1})
        .returning(periods.c.id)
        .cte(f"{period}_points")
    )


_SQLITE = _sqlite_statements()
_POSTGRESQL = _postgresql_statement()


def _read_post(conn: Connection, post_id: int) -> PostRow | None:
    row = conn.execute(_READ_POST, {"post_id": post_id}).first()
    return PostRow(*row) if row else None


def _read_status(conn: Connection, post_id: int) -> str | None:
    status = conn.execute(_READ_STATUS, {"post_id": post_id}).scalar()
    return None if status is None else str(status)


def _read_answer(conn: Connection, post_id: int, user_id: str) -> tuple[int, bool] | None:
    row = conn.execute(_READ_ANSWER, {"post_id": post_id, "user_id": user_id}).first()
    return (int(row[0]), bool(row[1])) if row else None


@dataclass(frozen=True)
class Grade:
    """How the core grades a click on a post: the choice, right or not, and the week and
    month (in the channel's calendar) whose points it adds to."""

    choice: int
    correct: bool
    week: date
    month: date


@dataclass(frozen=True)
class Click:
    """What became of a click: the post it was about, and the person's counted answer."""

    status: ClickStatus
    post: PostRow | None = None
    choice: int = -1
    correct: bool = False


class ClickLedger:
    """Records daily answers: the first click of each person on an open post counts, once.

    On PostgreSQL the answer, score and points are one statement that also checks the post
    is still open, so a post's fixed fields are remembered after its first click and a
    click is one round trip. SQLite reads the post in the click's own transaction.
    """

    REMEMBERED_POSTS = 256

    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions
        self._posts: dict[int, PostRow] = {}

    def record(
        self, post_id: int, user_id: str, now: datetime, grade: Callable[[PostRow], Grade | None]
    ) -> Click:
        """Store a click graded by `grade` (None: not a valid answer to that post)."""
        with core_transaction(self._sessions, single_statement_writes=True) as conn:
            remembers = conn.dialect.name == "postgresql"
            post = self._posts.get(post_id) if remembers else None
            if post is None:
                post = _read_post(conn, post_id)
                if remembers and post is not None and post.status in OPEN_STATUSES:
                    if len(self._posts) >= self.REMEMBERED_POSTS:
                        self._posts.clear()
                    self._posts[post_id] = post
            graded = grade(post) if post is not None else None
            if post is None or graded is None or post.status not in SEEN_STATUSES:
                return Click(ClickStatus.INVALID, post)  # unknown, or never in the channel
            closed = post.status not in OPEN_STATUSES
            recorded = False
            if not closed:
                recorded = _record(conn, post, user_id, graded, now, checks_open=remembers)
                # if not: answered before, or (a remembered post) closed since
                closed = (
                    not recorded and remembers and _read_status(conn, post_id) not in OPEN_STATUSES
                )
            mine = None if recorded else _read_answer(conn, post_id, user_id)
        if recorded:
            return Click(ClickStatus.RECORDED, post, graded.choice, graded.correct)
        if closed:
            return Click(ClickStatus.CLOSED, post, mine[0] if mine else -1, bool(mine and mine[1]))
        return Click(
            ClickStatus.ALREADY, post, mine[0] if mine else graded.choice, bool(mine and mine[1])
        )


def _record(
    conn: Connection, post: PostRow, user_id: str, grade: Grade, now: datetime, *, checks_open: bool
) -> bool:
    """Store a first answer and its points and streak; False if the person had answered
    (or, with `checks_open`, PostgreSQL's single statement, if the post has closed)."""
    params = {
        "team_id": post.team_id,
        "channel_id": post.channel_id,
        "user_id": user_id,
        "post_id": post.id,
        "question_id": post.question_id,
        "choice": grade.choice,
        "correct": grade.correct,
        "local_date": post.local_date,
        "now": now,
        "point": int(grade.correct),
        "previous_post_id": post.previous_post_id,
        "streak_post_id": post.id if grade.correct else None,
        "week": grade.week,
        "month": grade.month,
    }
    if checks_open:
        return conn.execute(_POSTGRESQL, params).first() is not None
    add_answer, upsert_score, add_points = _SQLITE
    if conn.execute(add_answer, params).first() is None:
        return False
    conn.execute(upsert_score, params)
    if grade.correct:
        conn.execute(
            add_points,
            [
                {**params, "period": "week", "start": grade.week},
                {**params, "period": "month", "start": grade.month},
            ],
        )
    return True
