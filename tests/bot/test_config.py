"""Configuration from the environment: clear errors, defaults, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, redact_url

SECRET = "xoxb-1111-2222-SUPERSECRETVALUE"


def test_defaults_need_nothing(tmp_path: Path) -> None:
    s = load_settings({}, dotenv_path=tmp_path / "missing.env")
    assert s.database_url == "sqlite:///virtsec.db"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.port == 3000 and s.admins == () and not s.has_slack_tokens
    s.require("console")  # console mode needs no Slack token


def test_heroku_postgres_url_and_api_url_slash() -> None:
    s = load_settings(
        {
            "DATABASE_URL": "postgres://u:pw@db.example:5432/x",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
        },
        dotenv_path=None,
    )
    assert s.database_url == "postgresql+psycopg://u:pw@db.example:5432/x"
    assert s.slack_api_url == "http://127.0.0.1:9/api/"


def test_every_malformed_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {"PORT": "eighty", "SLACK_API_URL": "slack.com", "VIRTSEC_ADMINS": "U01ABC, bob"},
            dotenv_path=None,
        )
    text = str(info.value)
    assert "PORT" in text and "SLACK_API_URL" in text and "bob" in text
    assert len(info.value.problems) == 3


def test_http_mode_names_each_missing_secret() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, dotenv_path=None).require("http")
    assert [p.split()[0] for p in info.value.problems] == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
    ]
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": SECRET}, dotenv_path=None).require("socket")
    assert info.value.problems[0].startswith("SLACK_APP_TOKEN is not set")


def test_a_wrong_kind_of_token_is_caught_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {"SLACK_BOT_TOKEN": "xapp-LEAKME", "SLACK_SIGNING_SECRET": "s"}, dotenv_path=None
        ).require("http")
    assert "xoxb-" in str(info.value) and "LEAKME" not in str(info.value)


def test_secrets_never_appear_in_repr_or_describe() -> None:
    s = load_settings(
        {
            "SLACK_BOT_TOKEN": SECRET,
            "SLACK_SIGNING_SECRET": "sign-SECRET",
            "SLACK_APP_TOKEN": "xapp-SECRET",
            "DATABASE_URL": "postgresql://app:hunter2@db/x",
        },
        dotenv_path=None,
    )
    for text in (repr(s), str(s), s.describe()):
        assert "SECRET" not in text and "hunter2" not in text
    assert "bot token <set>" in s.describe()


def test_dotenv_fills_in_but_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nVIRTSEC_ADMINS=U0AAA,U0BBB\nSLACK_BOT_TOKEN=xoxb-file\n")
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-env"}, dotenv_path=env_file)
    assert s.port == 4000 and s.admins == ("U0AAA", "U0BBB")
    assert s.slack_bot_token == "xoxb-env"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://a:b@h/d", "postgresql://a:***@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("postgresql://u@h/db?password=S3cret", "postgresql://u@h/db?password=***"),
        ("postgresql://:S3cret@h/db", "postgresql://:***@h/db"),
        ("postgresql://u:S3c@ret@h/db", "postgresql://u:***@h/db"),  # an unencoded @
        ("postgresql://u:S3c?r/et@h/db", "postgresql://u:***@h/db"),  # ? and / in it
        (
            "postgresql+psycopg://u:S3cret@h:5432/db?sslmode=require&PassWord=S3cret",
            "postgresql+psycopg://u:***@h:5432/db?sslmode=require&PassWord=***",
        ),
    ],
)
def test_redact_url_hides_every_form_of_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "S3c" not in redact_url(url)


def test_settings_construct() -> None:
    assert isinstance(Settings(), Settings)


OAUTH = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "CLIENTSECRETVALUE"}


def test_oauth_mode_needs_the_client_id_and_secret_and_no_bot_token() -> None:
    s = load_settings({**OAUTH, "SLACK_SIGNING_SECRET": "sig"}, dotenv_path=None, mode="http")
    assert s.oauth and s.has_slack_tokens and not s.slack_bot_token
    assert s.slack_scopes == ("commands", "chat:write", "chat:write.public", "users:read")
    assert s.purge_after_days == 30
    load_settings(OAUTH, dotenv_path=None, mode="tick")  # the scheduler needs no signing secret
    assert "CLIENTSECRETVALUE" not in repr(s) and "CLIENTSECRETVALUE" not in s.describe()
    assert "OAuth distribution (client id 1111.2222" in s.describe()


def test_half_an_oauth_setup_or_a_mixed_one_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_CLIENT_ID": "1111.2222"}, dotenv_path=None, mode="http")
    text = str(info.value)
    assert "SLACK_CLIENT_SECRET is not set" in text and "SLACK_SIGNING_SECRET is not set" in text
    with pytest.raises(ConfigError) as info:
        load_settings(
            {**OAUTH, "SLACK_BOT_TOKEN": SECRET, "SLACK_SIGNING_SECRET": "s"},
            dotenv_path=None,
            mode="http",
        )
    assert "not both" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings({**OAUTH, "SLACK_APP_TOKEN": "xapp-1"}, dotenv_path=None, mode="socket")
    assert "OAuth distribution runs in HTTP mode" in str(info.value)


def test_admins_name_their_workspace_in_oauth_mode() -> None:
    s = load_settings(
        {**OAUTH, "VIRTSEC_ADMINS": "T0AAA:U0ONE, T0BBB:U0TWO"}, dotenv_path=None, mode="tick"
    )
    assert s.admins == ("T0AAA:U0ONE", "T0BBB:U0TWO")
    with pytest.raises(ConfigError) as info:
        load_settings({**OAUTH, "VIRTSEC_ADMINS": "U0ONE"}, dotenv_path=None, mode="tick")
    assert "TEAM_ID:USER_ID" in str(info.value) and "U0ONE" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings({"VIRTSEC_ADMINS": "T0AAA:bob"}, dotenv_path=None)
    assert "T0AAA:bob" in str(info.value)


def test_scopes_redirect_uri_and_grace_period_are_checked() -> None:
    s = load_settings(
        {
            **OAUTH,
            "SLACK_SCOPES": "commands,chat:write",
            "SLACK_REDIRECT_URI": "https://virtsec.example/slack/oauth_redirect",
            "VIRTSEC_PURGE_AFTER_DAYS": "7",
        },
        dotenv_path=None,
    )
    assert s.slack_scopes == ("commands", "chat:write")
    assert s.slack_redirect_uri == "https://virtsec.example/slack/oauth_redirect"
    assert s.purge_after_days == 7
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                **OAUTH,
                "SLACK_SCOPES": "chat:write, <b>",
                "SLACK_REDIRECT_URI": "virtsec.example",
                "VIRTSEC_PURGE_AFTER_DAYS": "0",
            },
            dotenv_path=None,
        )
    text = str(info.value)
    assert "SLACK_SCOPES" in text and "SLACK_REDIRECT_URI" in text
    assert "VIRTSEC_PURGE_AFTER_DAYS" in text
