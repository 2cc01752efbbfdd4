"""One knowledge base for every process: `/virtsec reload` records the fingerprint of what
it loaded in the database; each web worker, instance and the scheduler looks at most every
CHECK_SECONDS and, when the recorded print is not its own, reloads its files in the
background (no request waits on it). A knowledge base that fails to load is never
recorded, so everyone keeps serving the one they have."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.library import Library
from bot.storage.shared import read_shared, record_shared

logger = logging.getLogger(__name__)
KEY = "knowledge"
CHECK_SECONDS = 2.0


class KnowledgeSync:
    """Follows the knowledge base recorded by the last reload, in any process."""

    def __init__(
        self,
        library: Library,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        followers: Sequence[Callable[[Session], None]] = (),
    ):
        """`followers` are also called on each look, with a session, to follow other
        shared facts (the team aliases)."""
        self.followers = list(followers)
        self.library = library
        self.sessions = sessions
        self.clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._checked = -CHECK_SECONDS
        self._looking: threading.Thread | None = None

    def publish(self) -> None:
        """Record the knowledge base this process just loaded as the one to serve."""
        with self.sessions.begin() as session:
            record_shared(session, KEY, self.library.kb.fingerprint, self.clock())

    def check(self) -> None:
        """Cheap, and safe to call on every request: at most every CHECK_SECONDS, a
        background thread reads the recorded print and reloads when it is not ours (so no
        request waits on the database for it, even when the database is slow)."""
        now = self._monotonic()
        with self._lock:
            if now - self._checked < CHECK_SECONDS or self._busy():
                return
            self._checked = now
            self._looking = threading.Thread(
                target=self._look, name="virtsec-knowledge-check", daemon=True
            )
            self._looking.start()

    def _look(self) -> None:
        try:
            with self.sessions.begin() as session:
                wanted = read_shared(session, KEY)
        except (SQLAlchemyError, OSError):  # the database is down: keep serving what we have
            return
        try:
            if wanted is not None and wanted != self.library.kb.fingerprint:
                self._follow(wanted)
        except Exception:  # the thread ends, the next check tries again
            logger.exception("following knowledge %s failed; serving the one loaded", wanted)
        for follow in self.followers:  # each on its own: one failing never stops the others
            try:
                with self.sessions.begin() as session:
                    follow(session)
            except Exception:
                logger.exception("following shared state failed; the next check tries again")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for a background reload (tests, shutdown)."""
        thread = self._looking
        if thread is not None:
            thread.join(timeout)
        return not self._busy()

    def _busy(self) -> bool:
        return self._looking is not None and self._looking.is_alive()

    def _follow(self, wanted: str) -> None:
        notice = self.library.reload()
        now_serving = self.library.kb.fingerprint
        if notice.error or now_serving != wanted:
            logger.warning(
                "another process reloaded knowledge %s; this one's files load as %s (%s)",
                wanted,
                now_serving,
                "invalid" if notice.error else "different files",
            )
        else:
            logger.info("switched to knowledge %s", wanted)
