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
        done = []
        for post_id in waiting:
            try:
                if self.reveal(post_id):
                    done.append(post_id)
            except Exception:  # one post's trouble must not stop the channel's tick
                logger.exception("revealing post %s again failed", post_id)
        return done

    def reveal(self, post_id: int) -> bool:
        """The result on the message and the answer in its thread, by one process; True when
        done (or given up: the outcome is unknown, or the question left the notes), False
        when Slack refused and a later tick tries again."""
        with self.sessions.begin() as session:
            posts = Posts(session)
            if not posts.take_reveal(post_id, self.clock()):
                return True  # another process reveals it, or did
            post = posts.get(post_id)
            assert post is not None
            answers = Answers(session)
            counts = answers.choice_counts(post_id)
            correct = tuple(answers.correct_users(post_id))
            try:
                view = post_view(self.knowledge.kb, post, sum(counts.values()))
            except LookupError:
                logger.warning("post %s: its question left the knowledge base; no reveal", post_id)
                return True
        if view.ts is None:
            return True
        try:
            reveal = Reveal(view, counts, correct)
            self.channel.update_question(view, reveal)
            self.channel.post_reveal(reveal)
        except ChannelFailed as exc:
            logger.warning(
                "revealing post %s failed (%s); the next tick retries", post_id, exc.reason
            )
            with self.sessions.begin() as session:
                Posts(session).give_back_reveal(post_id)
            return False
        except Exception:
            logger.exception("revealing post %s: Slack did not confirm; not retried", post_id)
        return True
