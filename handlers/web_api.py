"""Web API clients: every call has a timeout, and a retry is made only where Slack cannot
have acted on the first try."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot.config import Settings

TIMEOUT = 10  # seconds, each call
MAX_RETRY_AFTER = 20  # seconds: a rate limit asking for longer is not waited for


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 (Slack did not act on the call) only when Retry-After is short: a
    caller holding a two-minute claim must never outwait it."""

    def __init__(self, max_retry_count: int = 2, max_wait: int = MAX_RETRY_AFTER):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self, *, state: Any, request: Any, response: Any = None, error: Any = None
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after", ["1"])
        wait = str(values[0] if isinstance(values, list) else values)
        return wait.isdigit() and int(wait) <= self.max_wait


def build_client(settings: Settings) -> WebClient:
    """The client for calls that may be repeated safely (reads, chat.update, views.publish):
    retries rate limits (a short Retry-After), 5xx and dropped connections."""
    return WebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            BoundedRateLimitRetryHandler(),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def clone(client: WebClient, timeout: int, retry_handlers: list[RetryHandler]) -> WebClient:
    """The same client (token, API URL, TLS, proxy) with another timeout and retries."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=client.headers,
        retry_handlers=retry_handlers,
    )


def posting_client(client: WebClient) -> WebClient:
    """The same client for messages that must appear once (chat.postMessage): a retry only
    after a 429, which Slack answers without posting; a dropped connection or a 5xx may
    come after the message was posted, so it is not retried."""
    return clone(client, client.timeout, [BoundedRateLimitRetryHandler()])
