"""Cut-offs at a deadline, for waits that no timeout option bounds: one thread per process
calls each cut-off whose deadline passed before it was called off. Used to shut the socket of
a database that stopped answering and of a client that sends its request too slowly."""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)
GRANULARITY = 0.5  # seconds: a cut-off comes up to this much after its deadline


class Deadline:
    """One armed cut-off; `done()` calls it off."""

    __slots__ = ("cut",)

    def __init__(self, cut: Callable[[], None]):
        self.cut: Callable[[], None] | None = cut

    def done(self) -> None:
        """The wait ended in time: no cut."""
        self.cut = None


class Deadlines:
    """Calls `cut` for every watched wait still running at its deadline. Each instance is
    used with one length of wait, so deadlines arrive in order."""

    def __init__(self, name: str, granularity: float = GRANULARITY):
        """`granularity`: how late a cut may come (the thread wakes at most that often)."""
        self.name = name
        self.granularity = granularity
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = 0
        self._pid = 0

    def watch(self, cut: Callable[[], None], seconds: float) -> Deadline:
        """Arm a cut-off `seconds` from now."""
        deadline = Deadline(cut)
        at = time.monotonic() + seconds
        with self._cond:
            if self._pid != os.getpid():  # first use in this process (gunicorn forks)
                self._pid = os.getpid()
                self._heap.clear()
                threading.Thread(target=self._run, name=self.name, daemon=True).start()
            self._seq += 1
            idle = not self._heap
            heapq.heappush(self._heap, (at, self._seq, deadline))
            if idle:  # the thread waits for work: wake it (deadlines only grow later)
                self._cond.notify()
        return deadline

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._heap:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    # most waits end in time: wake at most every GRANULARITY seconds and
                    # clear what came due together, not once per watched wait
                    self._cond.wait(max(self._heap[0][0] - now, self.granularity))
                    continue
            for deadline in due:
                cut = deadline.cut
                if cut is not None:
                    try:
                        cut()
                    except Exception:  # the thread must outlive any one cut
                        logger.exception("%s: a cut-off failed", self.name)
