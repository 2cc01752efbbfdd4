"""Replies through Slack's response_url over kept-alive connections.

Bolt's `respond()` opens a new connection (a TLS handshake with hooks.slack.com) for every
reply. A burst of answer clicks is a burst of replies, so this sender keeps one connection
per thread and host and reuses it; the listeners still just call `respond(...)`.
"""

from __future__ import annotations

import http.client
import json
import logging
import select
import ssl
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Respond
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
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


class ResponseUrlSender:
    """POSTs JSON to response_urls, reusing one connection per thread and host."""

    def __init__(self, *, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None):
        self._timeout = timeout
        self._ssl = ssl_context or ssl.create_default_context()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()  # of all threads, for close()
        self._generation = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> ResponseUrlSender:
        # Bolt deep-copies a request for its lazy listeners: they share this one sender
        return self

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


class KeepAliveRespond(Respond):
    """Bolt's `respond()`, sent through a ResponseUrlSender."""

    def __init__(self, *, response_url: str | None, sender: ResponseUrlSender):
        super().__init__(response_url=response_url)
        self._sender = sender

    def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        """Post to the request's response_url, as Bolt's respond() does."""
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            return self.__call__(**text)
        message: dict[str, Any] = {"text": text}
        if blocks:
            message["blocks"] = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
        if attachments:
            message["attachments"] = [
                a.to_dict() if isinstance(a, Attachment) else a for a in attachments
            ]
        for name, value in (
            ("response_type", response_type),
            ("replace_original", replace_original),
            ("delete_original", delete_original),
            ("unfurl_links", unfurl_links),
            ("unfurl_media", unfurl_media),
            ("thread_ts", thread_ts),
            ("metadata", metadata),
        ):
            if value is not None:
                message[name] = value
        response = self._sender.post(self.response_url, message)
        if response.status_code >= 300:
            # the URL itself is a credential for this reply: never logged
            logger.warning(
                "Slack refused a response_url reply: HTTP %s %s",
                response.status_code,
                response.body[:200],
            )
        return response
