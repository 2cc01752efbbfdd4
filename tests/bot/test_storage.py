"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from bot.storage.migrate import alembic_config, current_tables, upgrade
from bot.storage.tables import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert {"subscriptions", "daily_posts", "answers", "scores"} <= current_tables(engine)


def test_upgrade_is_idempotent_and_downgrade_works(engine: Engine) -> None:
    upgrade(engine)  # already at head: nothing to do, no error
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert not {"answers", "scores"} & current_tables(engine)
    upgrade(engine)
    assert "answers" in current_tables(engine)
