"""Replies through Slack's response_url over kept-alive connections.

Bolt's `respond()` opens a new connection (a TLS handshake with hooks.slack.com) for every
reply, and a burst of answer clicks is a burst of replies. Measured with the answer-click
burst of `benchmarks/scores.py` (2-core machine, 10,000 people x 365 days, concurrency 20,
on loopback without TLS, so real Slack gains more), medians of interleaved A/B rounds:

- Bolt's respond() vs this sender (4 + 4 rounds per database): 753-801 vs 1007-1023
  clicks/s, p50 23-26 vs 19-21 ms; this sender won 15 of 16 pairs.
- urllib3's PoolManager vs this sender (4 + 4 rounds per database): SQLite 881 vs 971
  clicks/s, p99 67 vs 52 ms; PostgreSQL 874 vs 973 clicks/s, p99 59 vs 47 ms; this
  sender had the lower p99 in all 8 pairs.

urllib3 costs about 100 us more CPU per reply (its retry, timeout and response machinery),
which on two busy cores gives back most of the gain. So replies keep this small sender on
the standard library: one kept-alive connection per thread and host, a fresh one when Slack
closed an idle one, and nothing sent anywhere but Slack's response_url hosts.
"""

from __future__ import annotations

import functools
import http.client
import json
import logging
import select
import ssl
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Respond
from slack_sdk.webhook import WebhookResponse

logger = logging.getLogger(__name__)

USER_AGENT = "virtsec (response_url keep-alive)"
# the peer closed a kept-alive connection between two requests: safe to send again
_STALE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    http.client.BadStatusLine,
)

Reply = Callable[..., object]
"""respond(): called with a message's fields (text, blocks, response_type, ...)."""


class ResponseUrlSender:
    """POSTs JSON to response_urls, reusing one connection per thread and host."""

    def __init__(self, *, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None):
        self._timeout = timeout
        self._ssl = ssl_context or ssl.create_default_context()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()  # of all threads, for close()
        self._generation = 0

    def post(self, url: str, message: dict[str, Any]) -> WebhookResponse:
        """Send one message; one more try on a fresh connection if a kept one went stale."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a response_url must be an http(s) URL")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        body = json.dumps(message).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        key = (parts.scheme, parts.netloc)
        for attempt in (1, 2):
            conn, reused = self._connection(key)
            try:
                conn.request("POST", target, body=body, headers=headers)
            except (OSError, http.client.HTTPException):
                # not sent whole (over TLS a peer's silent close shows up as SSLEOFError
                # here): Slack cannot have acted on it, so a fresh connection may try again
                self._drop(key)
                if reused and attempt == 1:
                    continue
                raise
            try:
                response = conn.getresponse()
                data = response.read()
            except _STALE:
                # closed with no answer: the idle-close race, which clients retry
                self._drop(key)
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self._drop(key)
                raise
            if response.will_close:
                self._drop(key)
            return WebhookResponse(
                url=url,
                status_code=response.status,
                body=data.decode("utf-8", "replace"),
                headers=dict(response.getheaders()),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, key: tuple[str, str]) -> tuple[http.client.HTTPConnection, bool]:
        conns: dict[tuple[str, str], http.client.HTTPConnection] = self._pool()
        conn = conns.get(key)
        if conn is not None and _closed_by_peer(conn):
            self._drop(key)
            conn = None
        if conn is not None:
            return conn, True
        scheme, netloc = key
        if scheme == "https":
            conn = http.client.HTTPSConnection(netloc, timeout=self._timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(netloc, timeout=self._timeout)
        conns[key] = conn
        with self._lock:
            self._open.add(conn)
        return conn, False

    def _drop(self, key: tuple[str, str]) -> None:
        conn = self._pool().pop(key, None)
        if conn is not None:
            with self._lock:
                self._open.discard(conn)
            conn.close()

    def _pool(self) -> dict[tuple[str, str], http.client.HTTPConnection]:
        pool: dict[tuple[str, str], http.client.HTTPConnection] | None = getattr(
            self._local, "conns", None
        )
        if pool is None or self._local.generation != self._generation:
            pool = self._local.conns = {}
            self._local.generation = self._generation
        return pool

    def close(self) -> None:
        """Close every kept connection (threads open new ones if they send again)."""
        with self._lock:
            conns, self._open = self._open, set()
            self._generation += 1
        for conn in conns:
            conn.close()


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection is readable only when the server has closed it (or
    sent something unasked): either way it is not reused."""
    sock = conn.sock
    if sock is None:
        return False
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()  # unlike select(), any file descriptor number
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class Replies:
    """Sends a listener's replies to its response_url: over the kept-alive sender, or with a
    proxy configured (which the sender does not speak), with Bolt's own respond(). Replies go
    only to Slack's response_url hosts (`hosts`): the URL comes from the request body, and
    nothing in a request may make the app POST anywhere else."""

    def __init__(
        self, sender: ResponseUrlSender | None, hosts: tuple[str, ...], **bolt_options: Any
    ):
        """`bolt_options`: `proxy` and `ssl` for Bolt's respond()."""
        self.sender = sender
        self.hosts = frozenset(h.lower() for h in hosts)
        self._bolt_options = bolt_options

    def allowed(self, response_url: str | None) -> bool:
        """True for an https URL on one of Slack's response_url hosts (http on loopback)."""
        if not response_url:
            return False
        parts = urlsplit(response_url)
        if parts.hostname is None or parts.hostname.lower() not in self.hosts:
            return False
        return parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost")

    def to(self, response_url: str | None) -> Reply:
        """The respond() for a request's response_url; one that sends nothing (and says so
        in the log) when there is none or it is not Slack's."""
        if response_url is None or not self.allowed(response_url):
            return _nowhere
        if self.sender is None:
            return Respond(response_url=response_url, **self._bolt_options)
        return functools.partial(self._send, response_url)

    def _send(self, response_url: str, **message: Any) -> WebhookResponse:
        assert self.sender is not None
        response = self.sender.post(response_url, message)
        if response.status_code >= 300:
            # the URL itself is a credential for this reply: never logged
            logger.warning(
                "Slack refused a response_url reply: HTTP %s %s",
                response.status_code,
                response.body[:200],
            )
        return response

    def close(self) -> None:
        """Close kept connections."""
        if self.sender is not None:
            self.sender.close()


def _nowhere(**_message: Any) -> None:
    logger.warning("a reply was not sent: the request had no response_url on Slack's hosts")
