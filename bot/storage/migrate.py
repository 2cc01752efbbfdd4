"""Apply the Alembic migrations (shipped with virtsec) to a database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect


def migrations_dir() -> Path:
    """The migrations folder: the repo checkout's, or the one bundled in the wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "migrations", here / "bundled_migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("virtsec's migrations folder is missing")


def alembic_config(url: str) -> Config:
    """An Alembic config for a database URL, without an alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database schema up to `revision`; (revision before, after), None for an
    empty database."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after


def current_tables(engine: Engine) -> set[str]:
    """Table names present in the database."""
    return set(inspect(engine).get_table_names())
