"""Settings: the one place that reads the environment (and a `.env` file).

Validation names every missing or malformed variable at once, and secrets
never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values

DEFAULT_DATABASE_URL = "sqlite:///virtsec.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_RESPONSE_URL_HOSTS = ("hooks.slack.com",)  # where Slack's response_urls point
Mode = Literal["http", "socket", "tick"]
"""What the bot is about to run: each needs its own settings (`Settings.require`)."""
_USER_ID_RE = re.compile(r"^(?:T[A-Z0-9]{2,}:)?[UW][A-Z0-9]{2,}$")
#: the bot scopes OAuth mode asks for when SLACK_SCOPES is not set: the manifest's
DEFAULT_SCOPES = ("commands", "chat:write", "chat:write.public", "users:read")
DEFAULT_PURGE_DAYS = 30  # an uninstalled workspace's study data is kept this long


class ConfigError(Exception):
    """Configuration is missing or malformed; the message lists every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "virtsec is not configured correctly:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def _secret(value: str) -> str:
    return "<set>" if value else "<unset>"


@dataclass(frozen=True)
class Settings:
    """Validated settings; secrets are hidden from repr."""

    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    admins: tuple[str, ...] = ()
    knowledge: tuple[str, ...] = ()
    web_workers: int = 2
    web_threads: int = 4
    response_url_hosts: tuple[str, ...] = DEFAULT_RESPONSE_URL_HOSTS
    db_timeout: float = 5.0  # seconds: connecting, waiting for a connection, a statement
    slack_client_id: str = ""
    slack_client_secret: str = field(default="", repr=False)
    slack_scopes: tuple[str, ...] = DEFAULT_SCOPES
    slack_redirect_uri: str = ""
    purge_after_days: int = DEFAULT_PURGE_DAYS

    def __repr__(self) -> str:
        return f"Settings({self.describe()})"

    def describe(self) -> str:
        """A loggable summary with every secret masked."""
        return (
            f"bot token {_secret(self.slack_bot_token)}, signing secret "
            f"{_secret(self.slack_signing_secret)}, app token "
            f"{_secret(self.slack_app_token)}, database {redact_url(self.database_url)}, "
            f"Slack API {self.slack_api_url}, port {self.port}, "
            f"admins {', '.join(self.admins) or '(workspace admins and owners)'}"
            + (
                f", OAuth distribution (client id {self.slack_client_id}, client secret "
                f"{_secret(self.slack_client_secret)}, scopes {','.join(self.slack_scopes)})"
                if self.oauth
                else ""
            )
        )

    @property
    def has_slack_tokens(self) -> bool:
        """True when Slack is configured (a bot token, or OAuth distribution's client id and
        secret): Slack mode rather than console."""
        return bool(self.slack_bot_token or self.slack_client_id or self.slack_client_secret)

    @property
    def oauth(self) -> bool:
        """OAuth distribution: installed in any number of workspaces through "Add to Slack",
        each with its own token (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    def require(self, mode: Mode) -> None:
        """Raise ConfigError naming every variable the mode needs and lacks."""
        problems = self.missing(mode)
        if problems:
            raise ConfigError(problems)

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is meant when only an app-level token is given (no signing secret)."""
        return bool(self.slack_app_token) and not self.slack_signing_secret

    def missing(self, mode: Mode) -> list[str]:
        """Every variable the mode needs and lacks, or has in a wrong form."""
        problems = []
        if self.slack_client_id or self.slack_client_secret:
            return self._missing_for_oauth(mode)
        if mode in ("http", "socket", "tick"):
            if not self.slack_bot_token:
                problems.append(
                    "SLACK_BOT_TOKEN is not set (the xoxb- token from OAuth & Permissions)"
                )
            elif not self.slack_bot_token.startswith("xoxb-"):
                problems.append(
                    "SLACK_BOT_TOKEN does not look like a bot token (it should start with xoxb-)"
                )
        if mode == "http" and not self.slack_signing_secret:
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → App Credentials)")
        if mode == "socket":
            if not self.slack_app_token:
                problems.append(
                    "SLACK_APP_TOKEN is not set (an xapp- token with "
                    "connections:write, for Socket Mode)"
                )
            elif not self.slack_app_token.startswith("xapp-"):
                problems.append(
                    "SLACK_APP_TOKEN does not look like an app-level token "
                    "(it should start with xapp-)"
                )
        return problems

    def _missing_for_oauth(self, mode: Mode) -> list[str]:
        problems = []
        if not self.slack_client_id:
            problems.append(
                "SLACK_CLIENT_ID is not set (Basic Information → App Credentials); OAuth "
                "distribution needs it with SLACK_CLIENT_SECRET"
            )
        if not self.slack_client_secret:
            problems.append(
                "SLACK_CLIENT_SECRET is not set (Basic Information → App Credentials); OAuth "
                "distribution needs it with SLACK_CLIENT_ID"
            )
        if self.slack_bot_token:
            problems.append(
                "SLACK_BOT_TOKEN is set as well as SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: set the "
                "bot token for one workspace, or the client id and secret to be installed in "
                "many (each workspace's token is then stored at install), not both"
            )
        plain = [a for a in self.admins if ":" not in a]
        if plain:
            problems.append(
                "VIRTSEC_ADMINS entries must name their workspace in OAuth mode, as "
                f"TEAM_ID:USER_ID (T012AB:U012CD); not {', '.join(plain)}"
            )
        if mode == "socket":
            problems.append(
                "OAuth distribution runs in HTTP mode (its install pages are web pages): "
                "unset SLACK_APP_TOKEN, or use SLACK_BOT_TOKEN for Socket Mode"
            )
        if mode == "http" and not self.slack_signing_secret:
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → App Credentials)")
        return problems


_SECRET_PARAMS = re.compile(
    r"([?&](?:password|passwd|pass|pwd|sslpassword|secret|token)=)[^&#]*", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """A database URL with every password hidden: in the user part (`user:pw@`, `:pw@`,
    an unencoded `@` inside the password) and in query parameters (`?password=`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _SECRET_PARAMS.sub(r"\1***", url)
    if "@" in rest:  # the last @ ends the user part: a password may hold @, / or ? unencoded
        userinfo, _, rest = rest.rpartition("@")  # (an @ in a query value hides more: fine)
        user, colon, _password = userinfo.partition(":")
        prefix = f"{user}{':***' if colon else ''}@"
    else:
        prefix = ""
    return f"{scheme}://{prefix}" + _SECRET_PARAMS.sub(r"\1***", rest)


def normalize_database_url(url: str) -> str:
    """Heroku's postgres:// becomes SQLAlchemy's postgresql+psycopg://."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = ".env",
    *,
    mode: Mode | None = None,
) -> Settings:
    """Settings from the environment, with `.env` filling what the environment lacks;
    ConfigError naming every malformed value, and every one `mode` needs and lacks, at once."""
    settings, problems = read_settings(environ, dotenv_path)
    if mode is not None:
        problems += settings.missing(mode)
    if problems:
        raise ConfigError(problems)
    return settings


def _admins(text: str, problems: list[str]) -> tuple[str, ...]:
    """VIRTSEC_ADMINS: Slack user ids (TEAM_ID:USER_ID in OAuth mode), separated by commas
    or spaces."""
    admins = tuple(a for a in re.split(r"[\s,]+", text) if a)
    bad = [a for a in admins if not _USER_ID_RE.match(a)]
    if bad:
        problems.append(
            "VIRTSEC_ADMINS must be Slack user ids such as U012ABCDEF (T012AB:U012ABCDEF in "
            f"OAuth mode), separated by commas; not {', '.join(bad)}"
        )
    return admins


def _scopes(text: str, problems: list[str]) -> tuple[str, ...]:
    """SLACK_SCOPES: bot scopes separated by commas or spaces; the manifest's by default."""
    scopes = tuple(s for s in re.split(r"[\s,]+", text) if s)
    bad = [s for s in scopes if not re.match(r"^[a-z][a-z0-9_.]*(?::[a-z0-9_.]+)*$", s)]
    if bad:
        problems.append(
            "SLACK_SCOPES must be Slack scopes such as chat:write, separated by commas; "
            f"not {', '.join(bad)}"
        )
    return scopes or DEFAULT_SCOPES


def read_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
) -> tuple[Settings, list[str]]:
    """Settings, and what is wrong with the values given (a malformed one is replaced by
    its default in the Settings, so the caller can still tell which mode is meant)."""
    env: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def number(name: str, default: int, low: int, high: int, fallback: str = "") -> int:
        raw = get(name) or (get(fallback) if fallback else "") or str(default)
        if not raw.isdigit() or not low <= int(raw) <= high:
            problems.append(f"{name} must be a number from {low} to {high}, not {raw!r}")
            return default
        return int(raw)

    port = number("PORT", 3000, 1, 65535)
    database_url = normalize_database_url(get("DATABASE_URL", DEFAULT_DATABASE_URL))
    # two processes use both cores of a small dyno; on SQLite their writes queue on a lock
    # file (bot.storage.db.WriteLock)
    web_workers = number("VIRTSEC_WEB_WORKERS", 2, 1, 64, fallback="WEB_CONCURRENCY")
    web_threads = number("VIRTSEC_WEB_THREADS", 4, 1, 256)
    db_timeout = number("VIRTSEC_DB_TIMEOUT", 5, 1, 120)
    api_url = get("SLACK_API_URL", DEFAULT_SLACK_API_URL)
    if not re.match(r"^https?://", api_url):
        problems.append(f"SLACK_API_URL must be an http(s) URL, not {api_url!r}")
    elif not api_url.endswith("/"):
        api_url += "/"
    admins = _admins(get("VIRTSEC_ADMINS"), problems)
    if "://" not in database_url:
        problems.append(
            "DATABASE_URL must be a URL such as sqlite:///virtsec.db or postgresql://user@host/db"
        )
        database_url = DEFAULT_DATABASE_URL
    purge_days = number("VIRTSEC_PURGE_AFTER_DAYS", DEFAULT_PURGE_DAYS, 1, 3650)
    redirect_uri = get("SLACK_REDIRECT_URI")
    if redirect_uri and not re.match(r"^https?://[^\s]+$", redirect_uri):
        problems.append(
            "SLACK_REDIRECT_URI must be the https URL of /slack/oauth_redirect, "
            f"not {redirect_uri!r}"
        )
        redirect_uri = ""
    knowledge = tuple(p for p in get("VIRTSEC_KNOWLEDGE").split(os.pathsep) if p)
    hosts = tuple(h.lower() for h in re.split(r"[\s,]+", get("SLACK_RESPONSE_URL_HOSTS")) if h)
    settings = Settings(
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        database_url=database_url,
        slack_api_url=api_url,
        port=port,
        admins=admins,
        knowledge=knowledge,
        web_workers=web_workers,
        web_threads=web_threads,
        response_url_hosts=hosts or DEFAULT_RESPONSE_URL_HOSTS,
        db_timeout=float(db_timeout),
        slack_client_id=get("SLACK_CLIENT_ID"),
        slack_client_secret=get("SLACK_CLIENT_SECRET"),
        slack_scopes=_scopes(get("SLACK_SCOPES"), problems),
        slack_redirect_uri=redirect_uri,
        purge_after_days=purge_days,
    )
    return settings, problems
