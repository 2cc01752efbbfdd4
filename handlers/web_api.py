"""Web API clients: every call has a timeout, a retry is made only where Slack cannot
have acted on the first try, and the calls the app makes in bursts share one rate budget
with every other process (bot/pacing.py)."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.web.slack_response import SlackResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.pacing import Pacer, Rate

logger = logging.getLogger(__name__)

TIMEOUT = 10  # seconds, each call
MAX_RETRY_AFTER = 20  # seconds: a rate limit asking for longer is not waited for
MAX_RATE_LIMIT_RETRIES = 2

#: Slack's published limits for the calls the app makes in bursts, per app and workspace:
#: chat.update is Tier 3 (50+ a minute), views.publish Tier 4 (100+ a minute), and
#: chat.postMessage about one message a second per channel; each allows short bursts.
PACED: dict[str, Rate] = {
    "chat.update": Rate(interval=1.2, burst=4),
    "views.publish": Rate(interval=0.6, burst=8),
    "chat.postMessage": Rate(interval=1.0, burst=3),
}
PER_CHANNEL = {"chat.postMessage"}
#: one message (a daily question's live count) is updated at most every 2 s by everyone
#: (the count refreshes themselves are claimed 2.25 s apart: a loaded machine can delay one
#: call's arrival at Slack by a tenth of a second or two more than the next one's)
MESSAGE_UPDATES = Rate(interval=2.0, burst=1)
#: the longest a call waits for its turn: a Home tab refresh runs on the shared listener
#: threads, so it is dropped (the next answer refreshes it) rather than held long
MAX_WAIT = {"views.publish": 5.0}


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
        if request.url.rsplit("/", 1)[-1] in PACED:
            return False  # PacedWebClient waits its turn with every other process instead
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after", ["1"])
        wait = str(values[0] if isinstance(values, list) else values)
        return wait.isdigit() and int(wait) <= self.max_wait


class PacedWebClient(WebClient):
    """A WebClient whose bursty calls (PACED) wait for a turn of the shared budget, and
    whose 429s hold that budget for every process for the Retry-After Slack gave. A turn
    that would come later than MAX_RETRY_AFTER is refused here as Slack would refuse it
    (a 429 `ratelimited` answer), without calling Slack. Without a pacer (no database),
    a 429 is waited out by this process alone."""

    pacer: Pacer | None = None
    scope: str | None = None  # the workspace whose budget this client spends, when known

    def api_call(
        self, api_method: str, *, json: dict[str, Any] | None = None, **kwargs: Any
    ) -> SlackResponse:
        rate = PACED.get(api_method)
        if rate is None:
            return super().api_call(api_method, json=json, **kwargs)
        args = json or kwargs.get("data") or kwargs.get("params") or {}
        bucket = api_method
        if api_method in PER_CHANNEL:
            bucket += f":{args.get('channel', '')}"
        scope = self.budget_scope()
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            if self.pacer is not None:
                turn_at = self._turn(api_method, scope, bucket, rate, args)
                time.sleep(max(0.0, turn_at - time.time()))
            try:
                return super().api_call(api_method, json=json, **kwargs)
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    raise
                wait = _retry_after(exc.response)
                if attempt == MAX_RATE_LIMIT_RETRIES or wait > MAX_RETRY_AFTER:
                    if self.pacer is not None:
                        self._hold(scope, bucket, rate, wait)
                    raise
                if self.pacer is None:  # no database: this process waits on its own
                    time.sleep(wait)
                else:
                    logger.info("%s rate limited for %s s: every process waits", bucket, wait)
                    self._hold(scope, bucket, rate, wait)
            finally:
                if api_method == "chat.update" and self.pacer is not None:
                    # the message's next update comes 2 s after this one really went, even
                    # when the database or a sleep made this one late for its turn
                    self._hold(
                        scope, _message_bucket(args), MESSAGE_UPDATES, MESSAGE_UPDATES.interval
                    )
        raise AssertionError("unreachable")

    def _turn(
        self, api_method: str, scope: str, bucket: str, rate: Rate, args: dict[str, Any]
    ) -> float:
        """Take this call's turns (of its method, then of its message, not before the
        method's); the time to go at. Without the database, the call is refused as Slack
        would refuse it, so it is known not to have been sent."""
        assert self.pacer is not None
        max_wait = MAX_WAIT.get(api_method, MAX_RETRY_AFTER)
        try:
            turn = self.pacer.take(scope, bucket, rate, max_wait)
            if not turn.granted:
                raise self._refused(api_method, turn.wait)
            if api_method != "chat.update":
                return turn.at
            # one message is updated every 2 s at most, counted from when it really goes
            mine = self.pacer.take(
                scope, _message_bucket(args), MESSAGE_UPDATES, max_wait, not_before=turn.at
            )
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("the rate budget is unreachable (%s): %s not sent", exc, api_method)
            raise self._refused(api_method, 1.0) from exc
        if not mine.granted:
            raise self._refused(api_method, mine.wait)
        return max(turn.at, mine.at)

    def _hold(self, scope: str, bucket: str, rate: Rate, wait: float) -> None:
        assert self.pacer is not None
        try:
            self.pacer.hold(scope, bucket, rate, wait)
        except (SQLAlchemyError, OSError) as exc:  # the 429 itself still stands
            logger.warning("could not share a rate limit on %s: %s", bucket, exc)

    def __deepcopy__(self, memo: dict[int, Any]) -> PacedWebClient:
        # Bolt deep-copies each request for its lazy listeners: the copy shares the
        # budget (a database handle), it does not copy it
        return clone(self, self.timeout, list(self.retry_handlers or []), self.pacer)

    def budget_scope(self) -> str:
        """Slack's limits hold per app and workspace: the workspace when the client knows
        it (OAuth mode, where a rotated token is still the same workspace), else the bot
        token's digest (one workspace, one token; the token itself is never stored)."""
        if self.scope:
            return f"team:{self.scope}"
        return "token:" + hashlib.sha256((self.token or "").encode()).hexdigest()[:24]

    def _refused(self, api_method: str, wait: float) -> SlackApiError:
        retry_after = str(max(1, round(wait)))
        response = SlackResponse(
            client=self,
            http_verb="POST",
            api_url=self.base_url + api_method,
            req_args={},
            data={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": retry_after},
            status_code=429,
        )
        message = f"{api_method}: the shared rate budget is spent for {retry_after} s"
        return SlackApiError(message, response)  # type: ignore[no-untyped-call]


class SlackClients(Protocol):
    """The Web API client for a workspace's calls made outside a request (daily posts,
    Home tabs): one bot token, or each installation's own."""

    def for_team(self, team_id: str) -> WebClient:
        """The client carrying the token of the app's installation in that workspace."""
        ...


@dataclass(frozen=True)
class OneWorkspace:
    """Single-workspace mode (SLACK_BOT_TOKEN): every call goes through one client."""

    client: WebClient

    def for_team(self, team_id: str) -> WebClient:
        """The one client, whatever the team (requests from others are refused earlier)."""
        return self.client


def clients_of(clients: SlackClients | WebClient) -> SlackClients:
    """A provider of clients, from a provider or a single client."""
    return OneWorkspace(clients) if isinstance(clients, WebClient) else clients


def _message_bucket(args: dict[str, Any]) -> str:
    return f"message:{args.get('channel', '')}:{args.get('ts', '')}"


def _retry_after(response: SlackResponse) -> float:
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after", "1")
    value = value[0] if isinstance(value, list) else value
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def build_client(settings: Settings) -> PacedWebClient:
    """The client for calls that may be repeated safely (reads, chat.update, views.publish):
    retries rate limits (a short Retry-After), 5xx and dropped connections."""
    return PacedWebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            BoundedRateLimitRetryHandler(),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def clone(
    client: WebClient,
    timeout: int,
    retry_handlers: list[RetryHandler],
    pacer: Pacer | None = None,
) -> PacedWebClient:
    """The same client (token, team, API URL, TLS, proxy, shared budget) with another
    timeout and retries."""
    copy = PacedWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        retry_handlers=retry_handlers,
    )
    copy.pacer = pacer or getattr(client, "pacer", None)
    copy.scope = getattr(client, "scope", None)
    return copy


def paced(client: WebClient, pacer: Pacer, scope: str | None = None) -> PacedWebClient:
    """The client Bolt made for a request (its token and team), on the shared budget of
    `scope` (the workspace; None: the token's)."""
    if isinstance(client, PacedWebClient) and client.pacer is pacer and client.scope == scope:
        return client
    copy = clone(client, client.timeout, list(client.retry_handlers or []), pacer)
    copy.scope = scope
    return copy


def posting_client(client: WebClient) -> WebClient:
    """The same client for messages that must appear once (chat.postMessage): a retry only
    after a 429, which Slack answers without posting; a dropped connection or a 5xx may
    come after the message was posted, so it is not retried."""
    return clone(client, client.timeout, [BoundedRateLimitRetryHandler()])


def once_client(client: WebClient) -> WebClient:
    """The same client for calls that work only once (an install code, a refresh token): a
    timeout, and no retry of any kind (a retry after a lost answer would fail anyway)."""
    return clone(client, client.timeout, [])
