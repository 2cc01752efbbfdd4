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
from handlers.web_api import PacedWebClient, clone

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
#: virtsec rotates a token this long before it expires; Bolt's own step (which would rotate
#: without the shared lease) is set to a shorter time, so it finds nothing to do
ROTATE_BEFORE_MINUTES = 150
BOLT_ROTATION_MINUTES = 120
ROTATION_LEASE = timedelta(seconds=30)  # 3 times the longest refresh call (10 s, no retry)
ROTATION_WAIT = 12.0  # seconds the scheduler waits for another process's rotation
REQUEST_WAIT = 2.0  # seconds a request waits for it, only when its token has expired
SAVE_TRIES = 3
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
    ) -> Bot | None:
        """The newest bot installation of the workspace, its token rotated first when it
        expires within ROTATE_BEFORE_MINUTES (SlackTokenRotationError when Slack refused
        the rotation). While another process rotates it, the token in hand is returned if
        it still works; an expired one is waited for up to `wait` seconds (a request's
        default is short: Slack wants its answer within 3 s)."""
        bot = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None or not expiring(bot) or not team_id:
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
                try:
                    return self._rotate(team_id, newest())
                finally:
                    self.workspaces.end_rotation(team_id, owner)
            if not expired(bot) or time.monotonic() > deadline:
                return bot  # still valid (or the wait is over): used as it is
            time.sleep(0.2)
            current = newest()
            if current is None or not expiring(current):
                return current  # the other process rotated it

    def _rotate(self, team_id: str, current: Bot | None) -> Bot | None:
        """Rotate the token (the lease held), unless another process just did."""
        if current is None or not expiring(current):
            return current
        rotated = self.rotator.perform_bot_token_rotation(
            bot=current, minutes_before_expiration=ROTATE_BEFORE_MINUTES
        )
        if rotated is None:
            return current
        for attempt in range(1, SAVE_TRIES + 1):
            try:
                self.save_bot(rotated)
                break
            except Exception as exc:  # the old refresh token is spent: keep trying a little
                logger.error(
                    "workspace %s: saving its rotated token failed (try %s of %s): %s",
                    team_id,
                    attempt,
                    SAVE_TRIES,
                    type(exc).__name__,
                )
                if attempt == SAVE_TRIES:
                    logger.error(
                        "workspace %s: its new token is used now but was not stored; it "
                        "will need to reinstall virtsec when that token expires",
                        team_id,
                    )
                else:
                    time.sleep(0.5 * attempt)
        logger.info("rotated the bot token of workspace %s", team_id)
        return rotated

    def rotate_due(self) -> list[str]:
        """Rotate every token expiring within ROTATE_BEFORE_MINUTES (the scheduler does
        this each tick, so requests seldom have to); the workspaces rotated."""
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
        rotated = []
        for enterprise_id, team_id in due:
            try:
                self.find_bot(enterprise_id=enterprise_id, team_id=team_id, wait=ROTATION_WAIT)
                rotated.append(str(team_id))
            except Exception as exc:  # one workspace's trouble must not stop the others
                logger.warning("workspace %s: rotating its token failed: %s", team_id, exc)
        return rotated


class Installations:
    """Each workspace's client for calls made outside a request (daily posts, reveals,
    reports, Home tabs): its installation's token, rotated before use."""

    def __init__(self, store: WorkspaceStore, base: PacedWebClient):
        self.store = store
        self.base = base

    def for_team(self, team_id: str) -> WebClient:
        """The client with the workspace's bot token; NoToken when there is none."""
        enterprise_id = self.store.workspaces.enterprise_of(team_id)
        try:
            bot = self.store.find_bot(
                enterprise_id=enterprise_id, team_id=team_id, wait=ROTATION_WAIT
            )
        except SlackTokenRotationError as exc:
            error = exc.api_error.response.get("error")
            raise NoToken(f"rotating the workspace's token failed: {error}", final=False) from exc
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
            installation_store=store,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            token_rotation_expiration_minutes=BOLT_ROTATION_MINUTES,
            bot_only=True,
            cache_enabled=cache,
            logger=logger,
            client=store.rotator.client,
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
        token_rotation_expiration_minutes=BOLT_ROTATION_MINUTES,
        state_store=SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS, engine=engine, logger=logger
        ),
        state_expiration_seconds=STATE_SECONDS,
        logger=logger,
    )
    return _Flow(client=client, settings=oauth_settings, logger=logger)


class _Flow(OAuthFlow):
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
