"""Replies through Slack's response_url over kept-alive connections (urllib3's pool).

Bolt's `respond()` opens a new connection (a TLS handshake with hooks.slack.com) for every
reply. Measured with `benchmarks/scores.py`'s click burst on a 2-core machine, interleaved
A/B rounds: Bolt's respond() 753-801 clicks/s, p50 23-26 ms; kept-alive replies 1007-1023
clicks/s, p50 19-21 ms (about +30 %, 15 of 16 paired rounds; on loopback, without TLS, so
real Slack gains more). So replies reuse connections, from urllib3's thread-safe pool; the
listeners still just call `respond(...)`.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import urllib3
from slack_bolt import Respond
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookResponse
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

USER_AGENT = "virtsec (response_url keep-alive)"


class _RetryUnsent(Retry):
    """One more try only where Slack cannot have shown the reply: the connection failed, or
    a kept-alive one was closed by Slack before it answered. A time-out is not retried: the
    reply may be on screen already."""

    def increment(self, *args: Any, **kwargs: Any) -> _RetryUnsent:
        error = kwargs.get("error", args[3] if len(args) > 3 else None)
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(*args, **kwargs)


class ResponseUrlSender:
    """POSTs JSON to response_urls over pooled, kept-alive connections (thread-safe)."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = 16,
    ):
        """`connections`: how many kept-alive connections per host (one per sending
        thread is enough)."""
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=connections,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=_RetryUnsent(
                total=1, connect=1, read=1, status=0, other=0, redirect=0, allowed_methods=None
            ),
            ssl_context=ssl_context,
        )

    def post(self, url: str, message: dict[str, Any]) -> WebhookResponse:
        """Send one message; raises urllib3's errors (OSError-like) when it cannot."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a response_url must be an http(s) URL")
        response = self._pool.request(
            "POST",
            url,
            body=json.dumps(message).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
            redirect=False,
        )
        return WebhookResponse(
            url=url,
            status_code=response.status,
            body=response.data.decode("utf-8", "replace"),
            headers=dict(response.headers),
        )

    def close(self) -> None:
        """Close every kept connection (later posts open new ones)."""
        self._pool.clear()


class Replies:
    """Who sends a listener's replies to its response_url: a ResponseUrlSender, or with a
    proxy configured (which the sender does not speak), Bolt's own respond()."""

    def __init__(self, sender: ResponseUrlSender | None, **bolt_options: Any):
        """`bolt_options`: `proxy` and `ssl` for Bolt's respond()."""
        self.sender = sender
        self._bolt_options = bolt_options

    def to(self, response_url: str | None) -> Respond:
        """The respond() for a request's response_url."""
        if self.sender is None:
            return Respond(response_url=response_url, **self._bolt_options)
        return KeepAliveRespond(response_url=response_url, sender=self.sender)

    def close(self) -> None:
        """Close kept connections."""
        if self.sender is not None:
            self.sender.close()


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
