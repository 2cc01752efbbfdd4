"""Build the Bolt app: one place wires Slack to the core, and owns what the edge runs on
(the after-ack threads, kept-alive reply connections) and how it shuts down."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine

from bot.config import Settings
from bot.core import Core, utc_now
from bot.library import Library
from bot.results import Notice
from bot.storage.db import make_engine, session_factory
from bot.workspaces import Workspaces
from handlers import (
    answer_button,
    app_home,
    concept_buttons,
    lookup_buttons,
    practice_buttons,
    virtsec_command,
)
from handlers.blocks.study import render_notice
from handlers.installations import (
    NOT_INSTALLED,
    CachedAuthorize,
    Installations,
    WorkspaceStore,
    forget_expired_states,
    oauth_flow,
)
from handlers.response_url import Replies, ResponseUrlSender
from handlers.slack_channel import SlackChannel
from handlers.slack_context import ephemeral
from handlers.slack_users import Directory
from handlers.web_api import PacedWebClient, SlackClients, build_client, once_client, paced

logger = logging.getLogger(__name__)
OTHER_WORKSPACE = "This virtsec is installed in another Slack workspace; it does nothing here."
SORRY = "Sorry, something went wrong on my side. It has been logged; please try again."


def build_core(
    settings: Settings,
    library: Library,
    client: WebClient,
    engine: Engine | None = None,
    directory: Directory | None = None,
) -> Core:
    """The core, posting daily questions through Slack (with each workspace's own token in
    OAuth mode)."""
    return _edge(settings, library, client, engine, directory).core


@dataclass(frozen=True)
class _Edge:
    core: Core
    clients: SlackClients | WebClient  # for calls made outside a request
    store: WorkspaceStore | None  # OAuth mode's installations


def _edge(
    settings: Settings,
    library: Library,
    client: WebClient,
    engine: Engine | None = None,
    directory: Directory | None = None,
) -> _Edge:
    engine = engine or make_engine(settings.database_url, timeout=settings.db_timeout)
    sessions = session_factory(engine)
    keep = timedelta(days=settings.purge_after_days)
    clients: SlackClients | WebClient = client
    store = None
    if settings.oauth:
        store = workspace_store(settings, engine, Workspaces(sessions, utc_now, keep), client)
        clients = Installations(store, client)  # each workspace's token on a copy of it
    core = Core(library, sessions, SlackChannel(clients, directory), keep_departed=keep)
    if store is not None:  # each tick: refresh tokens before they expire, drop old states
        core.chores += [store.rotate_due, functools.partial(forget_expired_states, engine)]
    if isinstance(client, PacedWebClient) and client.pacer is None:
        client.pacer = core.pacer  # the rate budget every process shares, read per call
    return _Edge(core, clients, store)


def workspace_store(
    settings: Settings, engine: Engine, workspaces: Workspaces, client: WebClient
) -> WorkspaceStore:
    """The installation store of OAuth mode, on the app's database; its token refreshes
    are never retried (a refresh token works once: a retry after a lost answer would fail,
    and a retry must not outlast the rotation's lease)."""
    rotator = TokenRotator(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        client=once_client(client),
    )
    return WorkspaceStore(settings.slack_client_id, engine, workspaces, rotator)


@dataclass
class SlackApp:
    """The Bolt app, the core behind it, and what the edge holds open for it."""

    app: App
    core: Core
    home: app_home.HomePublisher
    executor: ThreadPoolExecutor
    replies: Replies

    def close(self) -> bool:
        """Finish the replies still queued, wait for background refreshes, then hang up on
        Slack; True if everything finished in time."""
        self.executor.shutdown(wait=True)
        idle = self.core.wait_idle() and self.home.refresher.wait_idle()
        self.replies.close()
        return idle


class _DropDeliberateClientWarning(logging.Filter):
    """Bolt warns on every start that SLACK_BOT_TOKEN "will be unused" when a client is
    given: we give one on purpose (it carries the token, timeouts and retry handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(record.getMessage() != warning_client_prioritized_and_token_skipped())


BOLT_LOGGER = logging.getLogger("virtsec.slack")
BOLT_LOGGER.addFilter(_DropDeliberateClientWarning())


def build_app(
    settings: Settings,
    library: Library,
    client: WebClient | None = None,
    *,
    engine: Engine | None = None,
    socket_mode: bool = False,
) -> App:
    """The Bolt app with every listener registered."""
    return build(settings, library, client, engine=engine, socket_mode=socket_mode).app


def build(
    settings: Settings,
    library: Library,
    client: WebClient | None = None,
    *,
    engine: Engine | None = None,
    socket_mode: bool = False,
) -> SlackApp:
    """The Bolt app with every listener registered, and what it runs on."""
    client = client or build_client(settings)
    engine = engine or make_engine(settings.database_url, timeout=settings.db_timeout)
    directory = Directory()
    edge = _edge(settings, library, client, engine, directory)
    core, store = edge.core, edge.store
    executor = ThreadPoolExecutor(
        max_workers=max(16, settings.web_threads * 4), thread_name_prefix="virtsec-after-ack"
    )
    # replies over kept-alive connections; with a proxy configured, Bolt's own respond()
    sender = ResponseUrlSender(ssl_context=client.ssl) if client.proxy is None else None
    replies = Replies(sender, settings.response_url_hosts, proxy=client.proxy, ssl=client.ssl)
    oauth: dict[str, Any] = {}
    if store is not None:  # many workspaces: each request authorized with its own token
        oauth = {
            "oauth_flow": oauth_flow(settings, store, engine, once_client(client)),
            "authorize": CachedAuthorize(store, settings),
            "installation_store_bot_only": True,
            "user_facing_authorize_error_message": NOT_INSTALLED,
        }
    app = App(
        token=None,  # the client carries it; Bolt warns when both are given
        signing_secret=settings.slack_signing_secret or None,
        client=client,
        request_verification_enabled=not socket_mode,
        # acks are computed in the request thread (no polling); work after the ack runs
        # in lazy listeners on the executor below
        process_before_response=True,
        # Bolt's default pool has 5 threads per process: too few when each listener also
        # calls Slack back (respond, chat.update) while new clicks arrive
        listener_executor=executor,
        logger=BOLT_LOGGER,
        before_authorize=_only_slacks_response_urls(replies),
        **oauth,
    )
    if store is not None:
        # app_uninstalled and tokens_revoked delete the tokens (WorkspaceStore stops the
        # workspace's schedules)
        _ignore_uninstalls_older_than_the_install(app, core)
        app.enable_token_revocation_listeners()
    else:
        _stop_when_uninstalled(app, core)
    _follow_the_knowledge_base(app, core)
    _only_well_formed_ids(app)
    _only_the_installed_workspace(app)
    _drop_event_redeliveries(app, core)
    _pace_listener_calls(app, core, per_workspace=store is not None)

    @app.error
    def on_error(error: Exception, context: BoltContext) -> None:
        # only verified requests reach Bolt (handlers/wsgi.py), and the reply still goes
        # only to one of Slack's response_url hosts
        logger.exception("error while handling a Slack request", exc_info=error)
        if context.response_url:
            message = ephemeral(render_notice(Notice(SORRY, error=True)), replace_original=False)
            replies.to(context.response_url)(**message)

    home = app_home.HomePublisher(core, edge.clients)
    # Bolt tries listeners in this order: the daily answer, whose bursts are the busiest
    # traffic, first
    answer_button.register(app, core, executor, replies, home)
    virtsec_command.register(app, core, settings, replies, directory)
    concept_buttons.register(app, core, replies, home)
    lookup_buttons.register(app, core, settings, replies, directory)
    practice_buttons.register(app, core, home, replies)
    app_home.register(app, core, home)
    return SlackApp(app, core, home, executor, replies)


def _only_slacks_response_urls(replies: Replies) -> Callable[..., BoltResponse]:
    def only_slacks_response_urls(
        context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        # a response_url off Slack's hosts is dropped before anything runs: nothing, Bolt's
        # own "not installed" reply included, may POST where a request body says
        if context.response_url is not None and not replies.allowed(context.response_url):
            logger.warning("dropped a response_url that is not on Slack's hosts")
            context["response_url"] = None
        return next()

    return only_slacks_response_urls


#: events that say the app lost its access: acting on them twice is harmless, so they are
#: never dropped as redeliveries (a delivery whose handling failed must be acted on again)
ACCESS_LOST = ("app_uninstalled", "tokens_revoked")


def _ignore_uninstalls_older_than_the_install(app: App, core: Core) -> None:
    @app.middleware
    def ignore_stale_uninstalls(
        req: BoltRequest, context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        # Slack redelivers an event for up to an hour: an uninstall redelivered after the
        # workspace installed again must not delete the new tokens
        body: dict[str, Any] = req.body
        event = body.get("event") or {}
        sent = body.get("event_time")
        if (
            event.get("type") in ACCESS_LOST
            and context.team_id
            and isinstance(sent, int)
            and core.workspaces.installed_after(context.team_id, sent)
        ):
            logger.info("ignored an %s older than the install", event.get("type"))
            return BoltResponse(status=200, body="")
        return next()


def _stop_when_uninstalled(app: App, core: Core) -> None:
    """One workspace (SLACK_BOT_TOKEN): when it removes the app or revokes the bot token,
    its schedules stop. Its data stays: the operator decides (`virtsec team purge`), as the
    token in the environment is theirs to change."""

    def uninstalled(context: BoltContext) -> None:
        if context.team_id:
            core.workspaces.uninstalled(context.team_id, purge_later=False)

    def revoked(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tokens", {}).get("bot"):
            uninstalled(context)

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)


def _follow_the_knowledge_base(app: App, core: Core) -> None:
    @app.middleware
    def follow_the_knowledge_base(next: Callable[[], BoltResponse]) -> BoltResponse:
        core.knowledge.check()  # a query every 2 s at most; a reload runs in the background
        return next()


SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")


def _only_well_formed_ids(app: App) -> None:
    @app.middleware
    def only_well_formed_ids(
        req: BoltRequest, context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        body: dict[str, Any] = req.body
        ids = (context.team_id, context.user_id, context.channel_id, context.enterprise_id)
        from_a_person = "command" in body or body.get("type") == "block_actions"
        if any(i is not None and not SLACK_ID.match(i) for i in ids) or (
            from_a_person and not context.user_id
        ):
            logger.info("refused a request with malformed ids")
            return BoltResponse(status=400, body={"error": "invalid request"})
        return next()


def _only_the_installed_workspace(app: App) -> None:
    @app.middleware
    def only_the_installed_workspace(
        context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        result = context.authorize_result
        installed = result.team_id if result is not None else None
        if installed and context.team_id and context.team_id != installed:
            logger.warning(
                "refused a request from workspace %s: this app serves %s",
                context.team_id,
                installed,
            )
            return BoltResponse(status=200, body=OTHER_WORKSPACE)
        return next()


def _pace_listener_calls(app: App, core: Core, *, per_workspace: bool) -> None:
    @app.middleware
    def pace_listener_calls(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        # the client Bolt makes for each request is a plain WebClient: listeners get one
        # whose bursty calls share the rate budget of every process (the workspace's, in
        # OAuth mode, whatever its token of the moment)
        scope = context.team_id if per_workspace else None
        context["client"] = paced(context.client, core.pacer, scope)
        return next()


def _drop_event_redeliveries(app: App, core: Core) -> None:

    @app.middleware
    def drop_event_redeliveries(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        body: dict[str, Any] = req.body
        access_lost = (body.get("event") or {}).get("type") in ACCESS_LOST
        if body.get("type") == "event_callback" and not access_lost:
            event_id = str(body.get("event_id", ""))
            if event_id and not core.once.first(f"event:{event_id}"):
                logger.info(
                    "dropping redelivered event %s (retry %s)",
                    event_id,
                    req.headers.get("x-slack-retry-num", ["?"])[0],
                )
                return BoltResponse(status=200, body="")
        return next()
