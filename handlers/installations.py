"""OAuth distribution: virtsec installed in any number of workspaces through "Add to Slack".

Bolt runs the install (`/slack/install`, `/slack/oauth_redirect`) and authorizes each
request with the installing workspace's token, on slack_sdk's SQLAlchemy stores in the app's
own database (tables made by migration 0012). What this module adds:

- `WorkspaceStore`, the installation store, tells the core when a workspace installs or
  leaves (Bolt's token revocation listeners call its delete methods), and rotates a token
  about to expire under a lease every process shares: of two processes finding the same
  token expiring, one rotates it (a refresh token works once) and the other waits for the
  new token. Bolt's own rotation (inside its per-request authorize step) then never has
  anything to do, and calls made outside a request are rotated too.
- `Installations` gives the scheduler and the Home tab the client of each workspace.
- `CachedAuthorize` keeps the auth.test answer per token: the installation itself is read
  from the database on every request, so an uninstall or a rotation is seen at once.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine, column, delete, exists, select, table

from bot.config import Settings
from bot.workspaces import Workspaces
from handlers.web_api import clone

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
#: the scheduler rotates a token this long before it expires (Bolt's own rotation, which
#: would run without the shared lease, is switched off: _NoRotation)
ROTATE_BEFORE_MINUTES = 150
#: longer than a rotation can take: the refresh call (10 s, never retried) and three tries
#: to store the new token (each bounded by VIRTSEC_DB_TIMEOUT, 5 s by default)
ROTATION_LEASE = timedelta(seconds=60)
ROTATION_WAIT = 12.0  # seconds the scheduler waits for another process's rotation
REQUEST_WAIT = 2.0  # seconds a request waits for it, only when its token has expired
REQUEST_AHEAD_MINUTES = 5  # a request rotates only a token this close to expiring
SAVE_TRIES = 3
#: Slack's answers to a refresh that say it will never work: not asked again for an hour
REFRESH_REFUSED = {"invalid_refresh_token", "token_revoked", "invalid_client_id"}
REFUSED_HOLD = timedelta(hours=1)
STATE_SECONDS = 600  # an install started on /slack/install must finish within 10 minutes
MAX_CACHED_AUTHORIZATIONS = 4096
NOT_INSTALLED = (
    "virtsec is not installed in this workspace (any more), so it did nothing. A workspace "
    "admin can add it again from its Add to Slack page."
)


class NoToken(SlackClientError):
    """No usable token for the workspace: not installed, uninstalled (`final`), or its
    rotation failed (try again later). Nothing was sent to Slack."""

    def __init__(self, message: str, *, final: bool):
        super().__init__(message)
        self.final = final


class OrgInstallRefused(BoltError):
    """An organization-wide (Enterprise Grid) install: virtsec installs per workspace."""


class _NoRotation(TokenRotator):
    """Bolt's authorize step would rotate a token itself, without the shared lease: it is
    given this rotator, which leaves rotation to WorkspaceStore."""

    def perform_bot_token_rotation(self, *, bot: Bot, minutes_before_expiration: int = 120) -> None:
        return None

    def perform_token_rotation(
        self, *, installation: Installation, minutes_before_expiration: int = 120
    ) -> None:
        return None


def expired(bot: Bot) -> bool:
    """True when the token has expired (give it a few seconds' margin)."""
    return bot.bot_token_expires_at is not None and bot.bot_token_expires_at <= time.time() + 5


def expiring(bot: Bot | None, minutes: int = ROTATE_BEFORE_MINUTES) -> bool:
    """True for a rotating token that expires within `minutes` (or has expired)."""
    return (
        bot is not None
        and bot.bot_refresh_token is not None
        and bot.bot_token_expires_at is not None
        and bot.bot_token_expires_at <= time.time() + minutes * 60
    )


class WorkspaceStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store on the app's engine (its tables are made
    by migration, never by create_tables()), telling the core about installs and uninstalls,
    and rotating expiring tokens once across processes."""

    def __init__(
        self,
        client_id: str,
        engine: Engine,
        workspaces: Workspaces,
        rotator: TokenRotator,
    ):
        super().__init__(client_id=client_id, engine=engine, logger=logger)
        self.workspaces = workspaces
        self.rotator = rotator
        self._lock = threading.Lock()
        # rotated here but not stored yet (the database failed): team -> (the refresh token
        # it spent, the new installation)
        self._unsaved: dict[str, tuple[str | None, Bot]] = {}

    def save(self, installation: Installation) -> None:
        """Store an install (Bolt's OAuth flow); a pending deletion of the workspace's data
        is called off. BoltError (Bolt's failure page) when it cannot be stored: an
        organization-wide install, or the database failing."""
        if installation.is_enterprise_install or not installation.team_id:
            raise OrgInstallRefused("organization-wide installs are not supported")
        try:
            super().save(installation)
            self.workspaces.installed(installation.team_id, installation.enterprise_id)
        except Exception as exc:  # the database: the error names no token (hide_parameters)
            logger.error("could not store the install of %s: %s", installation.team_id, exc)
            raise BoltError("the installation could not be stored") from exc
        logger.info("installed in workspace %s", installation.team_id)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The bot token was revoked (tokens_revoked): the workspace can no longer be
        served, so its schedules stop as for an uninstall."""
        super().delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        if team_id:
            self.workspaces.uninstalled(team_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The app was uninstalled (app_uninstalled): every token goes, the schedules stop,
        the data is kept for the grace period."""
        super().delete_all(enterprise_id=enterprise_id, team_id=team_id)
        if team_id:
            self.workspaces.uninstalled(team_id)

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
        wait: float = REQUEST_WAIT,
        ahead: int = REQUEST_AHEAD_MINUTES,
    ) -> Bot | None:
        """The newest bot installation of the workspace, its token rotated first when it
        expires within `ahead` minutes. A request's defaults are short (Slack wants its
        answer within 3 s): it rotates only a token about to expire (the scheduler rotates
        them 2.5 hours ahead), and waits for another process's rotation only when its
        token has expired. A token that still works is used whatever happens to its
        rotation; SlackTokenRotationError only when it has expired and Slack refused."""
        bot = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None or not team_id:
            return bot
        with self._lock:
            spent, unsaved = self._unsaved.get(team_id, (None, None))
        if unsaved is not None:
            if bot.bot_refresh_token == spent:  # the stored token is the one it replaced
                return self._save_unsaved(team_id, unsaved)
            with self._lock:  # stored since, or a reinstall: the database has moved on
                self._unsaved.pop(team_id, None)
        if not expiring(bot, ahead):
            return bot

        def newest() -> Bot | None:
            return super(WorkspaceStore, self).find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )

        deadline = time.monotonic() + wait
        while True:
            owner = self.workspaces.take_rotation(team_id, ROTATION_LEASE)
            if owner is not None:
                return self._rotate(team_id, newest(), ahead, owner)
            if not expired(bot) or time.monotonic() > deadline:
                return bot  # still valid (or the wait is over): used as it is
            ends = self.workspaces.rotation_ends(team_id)
            if ends is not None and ends > self.workspaces.clock() + ROTATION_LEASE:
                return bot  # held for longer than a rotation (Slack refused it for good)
            time.sleep(0.2)
            current = newest()
            if current is None or not expiring(current, ahead):
                return current  # the other process rotated it

    def _rotate(self, team_id: str, current: Bot | None, ahead: int, owner: str) -> Bot | None:
        """Rotate the token, the lease held (unless another process just did); the lease
        is given back, or kept for a while when trying again soon would not help."""
        hold = None
        try:
            if current is None or not expiring(current, ahead):
                return current
            try:
                rotated = self.rotator.perform_bot_token_rotation(
                    bot=current, minutes_before_expiration=ahead
                )
            except SlackTokenRotationError as exc:
                error = str(exc.api_error.response.get("error"))
                if error in REFRESH_REFUSED:  # for good: not asked again for a while
                    hold = REFUSED_HOLD
                logger.error("workspace %s: Slack refused to rotate its token: %s", team_id, error)
                if expired(current):
                    raise
                return current  # it still works: used until it expires
            except (SlackClientError, OSError) as exc:  # no answer: nothing is known spent
                logger.error("workspace %s: rotating its token failed: %s", team_id, exc)
                if expired(current):
                    message = f"rotating the workspace's token failed: {type(exc).__name__}"
                    raise NoToken(message, final=False) from exc
                return current
            if rotated is None:
                return current
            if not self._save(team_id, rotated):
                # the old refresh token is spent: nobody may use it (the lease stays until
                # it runs out) while this process keeps trying to store the new one
                with self._lock:
                    self._unsaved[team_id] = (current.bot_refresh_token, rotated)
                hold = ROTATION_LEASE
            logger.info("rotated the bot token of workspace %s", team_id)
            return rotated
        finally:
            if hold is None:
                self.workspaces.end_rotation(team_id, owner)
            else:
                self.workspaces.hold_rotation(team_id, owner, hold)

    def _save(self, team_id: str, rotated: Bot, tries: int = SAVE_TRIES) -> bool:
        for attempt in range(1, tries + 1):
            try:
                self.save_bot(rotated)
                return True
            except Exception as exc:  # the database: its error names no token
                logger.error(
                    "workspace %s: storing its rotated token failed (try %s of %s): %s",
                    team_id,
                    attempt,
                    tries,
                    type(exc).__name__,
                )
                if attempt < tries:
                    time.sleep(0.5 * attempt)
        return False

    def _save_unsaved(self, team_id: str, rotated: Bot) -> Bot:
        """A token this process rotated but could not store: stored now if it can be."""
        if self._save(team_id, rotated, tries=1):
            with self._lock:
                self._unsaved.pop(team_id, None)
            logger.info("workspace %s: its rotated token is stored now", team_id)
        return rotated

    def find_bot_ahead(self, enterprise_id: str | None, team_id: str) -> Bot | None:
        """find_bot for the scheduler, which has time: a token is rotated well before it
        expires, and another process's rotation is waited for."""
        return self.find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            wait=ROTATION_WAIT,
            ahead=ROTATE_BEFORE_MINUTES,
        )

    def rotate_due(self) -> list[str]:
        """Rotate every token expiring within ROTATE_BEFORE_MINUTES (the scheduler does
        this each tick, so requests seldom have to); the workspaces whose token was due."""
        bots = self.bots
        newer = bots.alias("newer")
        threshold = datetime.now(UTC).replace(tzinfo=None) + timedelta(
            minutes=ROTATE_BEFORE_MINUTES
        )
        query = select(bots.c.enterprise_id, bots.c.team_id).where(
            bots.c.client_id == self.client_id,
            bots.c.bot_refresh_token.is_not(None),
            bots.c.bot_token_expires_at <= threshold,
            bots.c.team_id.is_not(None),
            ~exists().where(
                newer.c.client_id == bots.c.client_id,
                newer.c.team_id == bots.c.team_id,
                newer.c.installed_at > bots.c.installed_at,
            ),
        )
        with self.engine.connect() as conn:
            due = conn.execute(query).all()
        for enterprise_id, team_id in due:
            try:
                self.find_bot_ahead(enterprise_id, team_id)
            except Exception as exc:  # one workspace's trouble must not stop the others
                logger.warning("workspace %s: rotating its token failed: %s", team_id, exc)
        return [str(team_id) for _, team_id in due]


class Installations:
    """Each workspace's client for calls made outside a request (daily posts, reveals,
    reports, Home tabs): its installation's token, rotated before use."""

    def __init__(self, store: WorkspaceStore, base: WebClient):
        self.store = store
        self.base = base  # timeouts, retries, API URL and rate budget: each client's

    def for_team(self, team_id: str) -> WebClient:
        """The client with the workspace's bot token; NoToken when there is none."""
        enterprise_id = self.store.workspaces.enterprise_of(team_id)
        try:
            bot = self.store.find_bot_ahead(enterprise_id, team_id)
        except SlackTokenRotationError as exc:
            error = str(exc.api_error.response.get("error"))
            raise NoToken(
                f"its token expired and Slack refused to renew it ({error})",
                final=error in REFRESH_REFUSED,
            ) from exc
        if bot is None or not bot.bot_token:
            raise NoToken("virtsec is not installed in this workspace any more", final=True)
        client = clone(self.base, self.base.timeout, list(self.base.retry_handlers or []))
        client.token = bot.bot_token
        client.scope = team_id
        return client


def forget_expired_states(engine: Engine) -> int:
    """Delete the install states of installs never finished (consumed ones are deleted as
    they are used); how many."""
    states = table("slack_oauth_states", column("expire_at"))
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as slack_sdk does
    with engine.begin() as conn:
        return int(conn.execute(delete(states).where(states.c.expire_at < now)).rowcount)


class _Bounded(OrderedDict[str, AuthorizeResult]):
    """A dict that forgets its oldest entries beyond MAX_CACHED_AUTHORIZATIONS (a rotated
    token never comes back, so old ones would only pile up)."""

    def __setitem__(self, key: str, value: AuthorizeResult) -> None:
        super().__setitem__(key, value)
        while len(self) > MAX_CACHED_AUTHORIZATIONS:
            self.popitem(last=False)


class CachedAuthorize(InstallationStoreAuthorize):
    """Bolt's authorize on the installation store (read on every request) with the
    auth.test answer cached per token: a new token (rotation) is a new key, and an
    uninstalled workspace has no token to look up."""

    def __init__(self, store: WorkspaceStore, settings: Settings, *, cache: bool = True):
        super().__init__(
            installation_store=store, bot_only=True, cache_enabled=cache, logger=logger
        )
        self.authorize_result_cache = _Bounded()
        # WorkspaceStore.find_bot rotates, under the lease every process shares
        self.token_rotator = _NoRotation(
            client_id=settings.slack_client_id, client_secret=settings.slack_client_secret
        )


def oauth_flow(
    settings: Settings, store: WorkspaceStore, engine: Engine, client: WebClient
) -> OAuthFlow:
    """Bolt's OAuth flow on the app's database, with virtsec's install and result pages;
    `client` exchanges the install code, which works once: it must never retry."""
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(settings.slack_scopes),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri or None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        callback_options=CallbackOptions(success=_installed, failure=_not_installed),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS, engine=engine, logger=logger
        ),
        state_expiration_seconds=STATE_SECONDS,
        logger=logger,
    )
    return _Flow(client=client, settings=oauth_settings, logger=logger)


class _Flow(OAuthFlow):
    def run_installation(self, code: str) -> Installation | None:
        # Bolt handles Slack's error answers; no answer at all (a time-out, a dropped
        # connection) gets the failure page too, not a 500
        try:
            return super().run_installation(code)
        except (SlackClientError, OSError) as exc:
            logger.warning("exchanging an install code failed: %s", type(exc).__name__)
            return None

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return _page(
            "Add virtsec to your Slack workspace",
            "<p>virtsec is a study assistant for virtualization security: it answers "
            "<code>/virtsec what is VM escape</code>, posts a daily practice question "
            "with scores and streaks, and keeps a personal review schedule.</p>"
            f'<p><a href="{html.escape(url, quote=True)}"><img alt="Add to Slack" height="40" '
            'width="139" src="https://platform.slack-edge.com/img/add_to_slack.png"></a></p>'
            "<p>Slack asks a workspace admin (or a member allowed to install apps) to approve "
            "it.</p>",
        )


def _installed(args: SuccessArgs) -> BoltResponse:
    installation = args.installation
    team = html.escape(installation.team_name or installation.team_id or "your workspace")
    app_link = ""
    if installation.app_id and installation.team_id:
        deep = f"slack://app?team={installation.team_id}&id={installation.app_id}"
        app_link = f'<p><a href="{html.escape(deep, quote=True)}">Open virtsec in Slack</a></p>'
    body = (
        f"<p>virtsec is installed in <strong>{team}</strong>. What to do next, in Slack:</p>"
        "<ol>"
        "<li>In any channel, type <code>/virtsec help</code> to see what it does, or "
        "<code>/virtsec what is VM escape</code> to try a lookup.</li>"
        "<li>To get a daily practice question, a workspace admin types "
        "<code>/virtsec daily on 09:00</code> in the channel (invite the bot first in a "
        "private channel: <code>/invite @virtsec</code>).</li>"
        "<li>Open the app's Home tab for your own progress and review queue.</li>"
        "</ol>"
        f"{app_link}<p>You can close this page.</p>"
    )
    return BoltResponse(
        status=200,
        body=_page("virtsec is installed", body),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


#: why an install did not finish, in the installer's words
_REASONS = {
    "access_denied": "the install was cancelled on Slack's page.",
    "invalid_browser": (
        "this browser did not start the install (its install cookie is missing or "
        "different): start again from the Add to Slack page, in one browser."
    ),
    "invalid_state": (
        "the install link was already used or is more than 10 minutes old: start again "
        "from the Add to Slack page."
    ),
    "missing_code": "Slack did not send the install code: start again from the Add to Slack page.",
    "invalid_code": (
        "Slack did not accept the install code (it works once, for a few minutes): start "
        "again from the Add to Slack page."
    ),
    "storage_error": "the installation could not be saved; please try again in a minute.",
}


def _not_installed(args: FailureArgs) -> BoltResponse:
    reason = _REASONS.get(args.reason, "Slack reported an error; please start again.")
    if isinstance(args.error, OrgInstallRefused):
        reason = (
            "virtsec is installed in each workspace of an organization, not in the whole "
            "organization at once: start again from the Add to Slack page and pick a "
            "workspace."
        )
    logger.info("an install did not finish: %s", args.reason)
    return BoltResponse(
        status=args.suggested_status_code,
        body=_page("virtsec was not installed", f"<p>Nothing was installed: {reason}</p>"),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;"
        "padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2rem}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
