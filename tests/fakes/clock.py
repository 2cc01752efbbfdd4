"""A clock the test moves by hand."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """Callable like `datetime.now(UTC)`; `now` is set or advanced by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**kwargs)
