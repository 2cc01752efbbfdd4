"""Where daily questions appear: the protocol each channel implements (Slack, the console,
a recording one in tests), and the views of a post that it shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.daily.weekly import WeeklyReportView
from bot.knowledge_base import KnowledgeBase, Question
from bot.scheduling import DaySet
from bot.storage.tables import ClaimStatus, DailyPost


@dataclass(frozen=True)
class PostView:
    """A daily question as a channel shows it."""

    team_id: str
    channel_id: str
    post_id: int
    question: Question
    answer_count: int
    ts: str | None = None
    closed: bool = False


def post_view(kb: KnowledgeBase, post: DailyPost, answer_count: int) -> PostView:
    """A stored post as a channel shows it; LookupError if its question left the notes."""
    question = kb.questions.get(post.question_id)
    if question is None:
        raise LookupError(f"question {post.question_id} is no longer in the knowledge base")
    return PostView(
        post.team_id,
        post.channel_id,
        post.id,
        question,
        answer_count,
        post.message_ts,
        post.status == ClaimStatus.CLOSED,
    )


@dataclass(frozen=True)
class Reveal:
    """The answer, shown when a question closes."""

    post: PostView
    counts: dict[int, int]
    correct_users: tuple[str, ...]

    @property
    def total(self) -> int:
        """How many answered."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class Announcement:
    """A channel's new daily schedule, told to the channel when an admin turns it on."""

    team_id: str
    channel_id: str
    user_id: str  # who turned it on
    post_time: str
    timezone: str
    days: DaySet
    close_time: str | None
    first_post: datetime


class ChannelFailed(Exception):
    """The channel answered that it did not take a message (an error response, a rate limit
    it would not wait for): nothing was posted, and trying again later is safe.

    Any other exception from a channel means the outcome is unknown (a time-out, a dropped
    connection after the message was sent): it may be on screen, so it is not sent again.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ChannelRefused(ChannelFailed):
    """The channel does not take the bot's messages (not invited, archived, a direct
    message): nothing will be posted there until someone changes that."""


class Channel(Protocol):
    """Where daily questions appear: Slack, the console, or a test recorder."""

    def post_question(self, view: PostView) -> str:
        """Post a question; returns the message id (Slack ts)."""

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        """Refresh a posted question (answer count; closed with its result)."""

    def post_reveal(self, reveal: Reveal) -> None:
        """Reply to the question with the answer and how people did."""

    def post_report(self, report: WeeklyReportView) -> str:
        """Post the Monday team report; returns the message id."""

    def announce(self, announcement: Announcement) -> None:
        """Tell the channel its daily schedule (which proves the bot can post there);
        ChannelRefused when it cannot."""
