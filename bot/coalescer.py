"""Throttle a refresh per key: bursts of requests merge into one run per interval.

Used for the live answer count on daily posts and for Home tab refreshes after answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)


class Coalescer(Generic[K]):
    """Runs `action(key)` at most once per `interval` seconds per key; bursts merge.

    `name` says what it refreshes, for the log line when a run fails.
    """

    def __init__(self, name: str, interval: float, action: Callable[[K], float | None]):
        """`action(key)` may return seconds after which it wants to run again (another
        process did the work meanwhile and the last word must still be said)."""
        self.name = name
        self.interval = interval
        self._action = action
        self._lock = threading.Condition()
        self._pending: dict[K, threading.Timer] = {}
        self._last: dict[K, float] = {}
        self._running = 0

    def request(self, key: K, after: float = 0.0) -> None:
        """Ask for the action; it runs soon (not before `after` seconds), once for
        everything asked meanwhile."""
        with self._lock:
            if key in self._pending:
                return
            since_last = self._last.get(key, 0.0) + self.interval - time.monotonic()
            timer = threading.Timer(max(0.0, after, since_last), self._fire, [key])
            timer.daemon = True
            self._pending[key] = timer
            timer.start()

    def _fire(self, key: K) -> None:
        with self._lock:
            self._pending.pop(key, None)
            self._last[key] = time.monotonic()
            self._running += 1
        again = None
        try:
            again = self._action(key)
        except Exception:  # a failed refresh must not kill the timer thread
            logger.exception("refreshing %s %s failed", self.name, key)
        finally:
            if again is not None:
                self.request(key, after=again)
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending (tests and shutdown)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._pending and not self._running, timeout=timeout
            )
