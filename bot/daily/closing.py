"""Closing a daily question: no more answers, the result on the message, the answer in its
thread. The close is recorded first; a reveal that Slack refused is tried again by later
ticks (for a day), one whose outcome is unknown is not (it may be on screen already)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.daily.channel import Channel, ChannelFailed, Reveal, post_view
from bot.library import KnowledgeSource
from bot.storage.answers import Answers
from bot.storage.posts import Posts

logger = logging.getLogger(__name__)
RETRY_REVEALS_FOR = timedelta(days=1)


class Closer:
    """Closes questions and reveals their answers, once each."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeSource,
        channel: Channel,
        clock: Callable[[], datetime],
    ):
        self.sessions = sessions
        self.knowledge = knowledge
        self.channel = channel
        self.clock = clock

    def close(self, post_id: int) -> bool:
        """Close a question and reveal it; False when it was not open."""
        with self.sessions.begin() as session:
            if not Posts(session).close(post_id, self.clock()):
                return False
        self.reveal(post_id)
        return True

    def retry_reveals(self, team_id: str, channel_id: str) -> list[int]:
        """Reveal again what Slack refused to show before; the posts now revealed."""
        since = self.clock() - RETRY_REVEALS_FOR
        with self.sessions.begin() as session:
            waiting = [p.id for p in Posts(session).unrevealed(team_id, channel_id, since)]
        return [post_id for post_id in waiting if self.reveal(post_id)]

    def reveal(self, post_id: int) -> bool:
        """The result on the message and the answer in its thread; True when done (or
        given up: outcome unknown), False when Slack refused and a later tick tries again."""
        with self.sessions.begin() as session:
            post = Posts(session).get(post_id)
            if post is None:
                return True
            answers = Answers(session)
            counts = answers.choice_counts(post_id)
            view = post_view(self.knowledge.kb, post, sum(counts.values()))
            reveal = Reveal(view, counts, tuple(answers.correct_users(post_id)))
        done = True
        if view.ts is not None:
            try:
                self.channel.update_question(view, reveal)
                self.channel.post_reveal(reveal)
            except ChannelFailed as exc:
                logger.warning(
                    "revealing post %s failed (%s); the next tick retries", post_id, exc.reason
                )
                done = False
            except Exception:
                logger.exception("revealing post %s: Slack did not confirm; not retried", post_id)
        if done:
            with self.sessions.begin() as session:
                Posts(session).mark_revealed(post_id, self.clock())
        return done
