"""slack_sdk's SQLAlchemy installation and OAuth state stores on the app's own database:
their tables come from the migrations (not create_tables()), on SQLite and PostgreSQL,
and the pitfalls the SDK's issue tracker names do not bite."""

from __future__ import annotations

import time

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData

from bot.storage.tables import EDGE_TABLES


def installation(
    team: str, *, bot: str | None, user: str = "UINSTALLER", at: float
) -> Installation:
    return Installation(
        app_id="A0APP",
        enterprise_id=None,
        team_id=team,
        team_name=f"team {team}",
        bot_token=bot,
        bot_id="B0BOT" if bot else None,
        bot_user_id="U0BOT" if bot else None,
        bot_scopes="commands,chat:write,chat:write.public,users:read" if bot else None,
        user_id=user,
        user_token=f"xoxp-{team}-{user}",
        user_scopes="search:read",
        installed_at=at,
    )


def test_the_migrated_tables_are_the_ones_the_stores_define(engine: Engine) -> None:
    theirs = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots")
    # slack_sdk 3.48 passes the MetaData twice to Table(); build the states table the same
    SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states")
    assert set(theirs.tables) == EDGE_TABLES

    def only_theirs(name: str | None, type_: str, _parent: object = None) -> bool:
        return type_ != "table" or name in EDGE_TABLES

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": only_theirs, "compare_type": True}
        )
        assert compare_metadata(context, theirs) == []


def test_two_apps_share_one_database_and_see_only_their_own_installs(engine: Engine) -> None:
    ours = SQLAlchemyInstallationStore(client_id="111.111", engine=engine)
    other = SQLAlchemyInstallationStore(client_id="222.222", engine=engine)
    ours.save(installation("TONE", bot="xoxb-ours", at=time.time()))
    other.save(installation("TONE", bot="xoxb-other", at=time.time()))
    found = ours.find_bot(enterprise_id=None, team_id="TONE")
    assert found is not None and found.bot_token == "xoxb-ours"
    assert other.find_bot(enterprise_id=None, team_id="TONE").bot_token == "xoxb-other"  # type: ignore[union-attr]
    assert ours.find_bot(enterprise_id=None, team_id="TTWO") is None


def test_the_newest_bot_token_survives_a_later_user_only_install(engine: Engine) -> None:
    store = SQLAlchemyInstallationStore(client_id="111.111", engine=engine)
    now = time.time()
    store.save(installation("TONE", bot="xoxb-old", at=now - 60))
    store.save(installation("TONE", bot="xoxb-new", at=now - 30))
    store.save(installation("TONE", bot=None, user="USOMEONE", at=now))  # user scopes only
    bot = store.find_bot(enterprise_id=None, team_id="TONE")
    assert bot is not None and bot.bot_token == "xoxb-new"
    latest = store.find_installation(enterprise_id=None, team_id="TONE")
    assert latest is not None and latest.bot_token == "xoxb-new"
    store.delete_installation(enterprise_id=None, team_id="TONE")
    store.delete_bot(enterprise_id=None, team_id="TONE")
    assert store.find_bot(enterprise_id=None, team_id="TONE") is None


def test_an_oauth_state_is_consumed_once_and_not_after_it_expires(engine: Engine) -> None:
    states = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    state = states.issue()
    assert states.consume(state)  # the invalid_state bug with SQLAlchemy 2 would fail here
    assert not states.consume(state)  # reused
    assert not states.consume("forged-" + state)
    expired = SQLAlchemyOAuthStateStore(expiration_seconds=-1, engine=engine)
    assert not expired.consume(expired.issue())
