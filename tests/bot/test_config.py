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
