"""Tables (SQLAlchemy 2 typed models). Every row is keyed by Slack team id."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(64)


class ClaimStatus(StrEnum):
    """A claimed row (daily post, weekly report): taken by one process, then done."""

    CLAIMED = "claimed"  # a process holds it; retaken when its lease runs out
    SENDING = "sending"  # handed to Slack: if its process dies now, the outcome is unknown
    POSTED = "posted"  # in Slack (for a daily post: open for answers)
    CLOSED = "closed"  # a daily post whose answer was revealed
    FAILED = "failed"  # Slack refused it (a manual post; a scheduled one is retried)
    UNKNOWN = "unknown"  # sent, but Slack never confirmed it: never sent again


class AnswerKind(StrEnum):
    """A scored daily answer or an unscored practice answer."""

    DAILY = "daily"
    PRACTICE = "practice"


class Base(DeclarativeBase):
    """Base of all tables."""


#: Tables the migrations create for the Slack edge (slack_sdk's OAuth installation and
#: state stores define them, not these models): left out when models and schema are
#: compared.
EDGE_TABLES = frozenset({"slack_installations", "slack_bots", "slack_oauth_states"})


def ours(name: str | None, type_: str, _parent: object = None) -> bool:
    """Alembic's include_name filter: compare only the tables these models define."""
    return not (type_ == "table" and name in EDGE_TABLES)


class Subscription(Base):
    """A channel's daily practice question schedule."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    post_time: Mapped[str] = mapped_column(String(5))  # HH:MM, local to timezone
    timezone: Mapped[str] = mapped_column(String(64))
    days: Mapped[str] = mapped_column(String(16))  # a DaySet
    close_time: Mapped[str | None] = mapped_column(String(5), default=None)  # HH:MM or none
    # the first local date it posts: a schedule set after today's time starts tomorrow
    starts_on: Mapped[date | None] = mapped_column(Date, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    weekly_report: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DailyPost(Base):
    """A question posted in a channel; the row is claimed before the post is sent.

    `slot` is the local date (YYYY-MM-DD) for the scheduled question, so two
    schedulers can never post the same day twice, or `manual:<id>` for `/virtsec post`.
    """

    __tablename__ = "daily_posts"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "slot"),
        Index("ix_daily_posts_open", "team_id", "channel_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    slot: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[date] = mapped_column(Date)
    question_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # a ClaimStatus
    claim_token: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # when the reveal reached the thread (or was given up); a closed post without one is
    # revealed again by the next tick
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    previous_post_id: Mapped[int | None] = mapped_column(Integer, default=None)
    shown_count: Mapped[int] = mapped_column(Integer, default=0)  # count on the message
    # when a process last refreshed the count on the message: one refresh per interval for
    # all processes together
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class StoredAnswer(Base):
    """A person's answer: to a daily post (scored, once) or to practice (never scored)."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id"),  # one scored answer per person per post
        Index("ix_answers_user", "team_id", "user_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(16))  # an AnswerKind
    post_id: Mapped[int | None] = mapped_column(ForeignKey("daily_posts.id"), default=None)
    question_id: Mapped[str] = mapped_column(String(128))
    choice: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    local_date: Mapped[date] = mapped_column(Date)  # the channel's date of the question
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Score(Base):
    """Running totals per person per channel, kept in step with answers (fast boards)."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "user_id"),
        Index("ix_scores_rank", "team_id", "channel_id", "points"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    points: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    current_streak: Mapped[int] = mapped_column(Integer, default=0)
    best_streak: Mapped[int] = mapped_column(Integer, default=0)
    streak_post_id: Mapped[int | None] = mapped_column(Integer, default=None)  # last in streak


class PeriodScore(Base):
    """Points per person per channel per week (from Monday) and month, in the channel's
    time zone, kept in step with answers so week and month boards read few rows."""

    __tablename__ = "period_scores"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "period", "start", "user_id"),
        Index("ix_period_scores_rank", "team_id", "channel_id", "period", "start", "points"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    period: Mapped[str] = mapped_column(String(8))  # Period week or month
    start: Mapped[date] = mapped_column(Date)
    points: Mapped[int] = mapped_column(Integer, default=0)


class ReviewState(Base):
    """A person's spaced-repetition memory of one practice question (an FSRS card)."""

    __tablename__ = "review_states"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "question_id"),
        Index("ix_review_states_due", "team_id", "user_id", "due"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    question_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[int] = mapped_column(Integer)  # fsrs.State: 1 learning, 2 review, 3 relearning
    step: Mapped[int | None] = mapped_column(Integer, default=None)
    stability: Mapped[float | None] = mapped_column(Float, default=None)
    difficulty: Mapped[float | None] = mapped_column(Float, default=None)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_review: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)


class WeeklyReport(Base):
    """A channel's Monday report; the row is claimed before the report is posted."""

    __tablename__ = "weekly_reports"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "week_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    week_start: Mapped[date] = mapped_column(Date)  # the Monday of the week reported on
    status: Mapped[str] = mapped_column(String(16))  # ClaimStatus claimed or posted
    claim_token: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class HandledRequest(Base):
    """A request that must act once however often it arrives (Slack's event redeliveries,
    a replayed slash command), across every process. Kept for a day."""

    __tablename__ = "handled_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SharedState(Base):
    """Small facts every process must agree on (the knowledge base in use)."""

    __tablename__ = "shared_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HomeViewer(Base):
    """Someone who opened the Home dashboard: only their dashboards are refreshed after
    answers, by whichever process records the answer."""

    __tablename__ = "home_viewers"

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CallPace(Base):
    """A shared budget of outgoing calls (bot/pacing.py): when the bucket (e.g. one
    workspace's chat.update calls) has room for its next call, in seconds since the epoch."""

    __tablename__ = "call_pacing"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


class LookupEvent(Base):
    """A lookup the bot could not answer, or whose suggestions someone refused ("None of
    these"): what `/virtsec gaps` and the weekly report list. Kept RETENTION_DAYS."""

    __tablename__ = "lookup_events"
    __table_args__ = (
        Index("ix_lookup_events_team_time", "team_id", "created_at"),
        Index("ix_lookup_events_created_at", "created_at"),  # the retention's deletes
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(16))  # a GapKind
    key: Mapped[str] = mapped_column(String(200))  # the normalised query
    query: Mapped[str] = mapped_column(String(200))  # as typed (shortened)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LookupPick(Base):
    """A "Did you mean" suggestion someone picked for a query (their latest pick)."""

    __tablename__ = "lookup_picks"

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    concept_id: Mapped[str] = mapped_column(String(128))
    picked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class TeamAlias(Base):
    """A query a team taught the bot: it answers the concept directly, for that team."""

    __tablename__ = "team_aliases"

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    concept_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # "picks" or "admin"
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Workspace(Base):
    """A workspace's installation of the app, as the core sees it (the tokens themselves are
    slack_sdk's, in slack_bots): when it was uninstalled (its data is deleted a grace period
    later), and which process is rotating its token right now."""

    __tablename__ = "workspaces"
    __table_args__ = (Index("ix_workspaces_uninstalled", "uninstalled_at"),)

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    # the Enterprise Grid organization of the workspace, if any (its installation is found
    # by both ids)
    enterprise_id: Mapped[str | None] = mapped_column(ID, default=None)
    installed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    uninstalled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    rotating_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    rotation_owner: Mapped[str | None] = mapped_column(String(64), default=None)
