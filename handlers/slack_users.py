"""Who people are, from Slack's users.info: cached for a few minutes, and never waited on
long before an ack (Slack gives a request 3 seconds; a rate-limited users.info answers with
a Retry-After of seconds)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from handlers.web_api import clone

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300.0  # an admin demoted in Slack keeps admin rights here this long at most
QUICK_TIMEOUT = 1  # seconds before an ack: one try, this long at most
MAX_CACHED = 10_000


class SlackUnavailable(Exception):
    """Slack did not say in time (rate limit, 5xx, time-out, refused connection)."""


class Directory:
    """users.info per (team, user), cached; each lookup makes one short try."""

    def __init__(
        self,
        ttl: float = CACHE_SECONDS,
        quick_timeout: int = QUICK_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl = ttl
        self.quick_timeout = quick_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

    def info(self, client: WebClient, team_id: str, user_id: str) -> dict[str, Any]:
        """users.info's `user`; SlackUnavailable when Slack does not answer (in time)."""
        key = (team_id, user_id)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                return hit[1]
        caller = clone(client, self.quick_timeout, [])
        try:
            info = dict(caller.users_info(user=user_id)["user"])
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning("users.info failed for %s: %s", user_id, _reason(exc))
            raise SlackUnavailable from exc
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (now, info)
        return info

    def names(
        self, client: WebClient, team_id: str, user_ids: Iterable[str], budget: float = 5.0
    ) -> dict[str, str]:
        """Display names for people, looked up quickly within `budget` seconds in all (those
        Slack does not describe in time are left out, and counted by the caller)."""
        names: dict[str, str] = {}
        deadline = self._clock() + budget
        for user_id in user_ids:
            if self._clock() > deadline:
                break
            try:
                info = self.info(client, team_id, user_id)
            except SlackUnavailable:
                continue
            profile = info.get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or info.get("real_name")
                or info.get("name")
            )
            if name:
                names[user_id] = str(name)
        return names


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__
