"""Run Alembic from code (the CLI, start-up and tests use this; tables are never created otherwise)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    def _upgrade(connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def _current(connection) -> set[str]:
        # Reading the version is not news: without this, every call (each /readyz, each CLI command's check)
        # logs alembic's "Context impl ..." lines at info.
        migration_log = logging.getLogger("alembic.runtime.migration")
        level = migration_log.level
        migration_log.setLevel(logging.WARNING)
        try:
            return set(MigrationContext.configure(connection).get_current_heads())
        finally:
            migration_log.setLevel(level)

    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def head_difference(engine: AsyncEngine) -> str | None:
    """How the database's revisions differ from this code's migration heads (None when at head): `/readyz`."""
    current, heads = await current_revisions(engine), head_revisions()
    return None if current == heads else f"at {sorted(current)}, head is {sorted(heads)}"


async def schema_problem(url: str) -> str | None:
    """Why the database at `url` cannot serve yet, in one line that says what to run; None when it is at head.

    A SQLite file that does not exist is reported without being created (connecting would leave an empty one)."""
    from sqlalchemy.engine import make_url

    from shared.db import create_engine

    upgrade_hint = "run `nakoming db upgrade` (or `./scripts/run`, which also loads the seed data)"
    parsed = make_url(url)
    path = (
        parsed.database if parsed.get_backend_name() == "sqlite" and parsed.database != ":memory:" else None
    )
    if path and not Path(path).exists():
        return f"No database at {Path(path).resolve()} yet: {upgrade_hint}."
    engine = create_engine(url)
    try:
        current = await current_revisions(engine)
    except Exception as exc:  # noqa: BLE001 - any reason it cannot be read is reported the same way
        return (
            f"Cannot read the database at {parsed.render_as_string(hide_password=True)} ({type(exc).__name__}); "
            "check NAKOMING_DATABASE_URL and that the server runs."
        )
    finally:
        await engine.dispose()
    heads = head_revisions()
    if not current:
        return f"The database is not migrated: {upgrade_hint}."
    if current != heads:
        return (
            f"The database is at {', '.join(sorted(current))}, the code expects {', '.join(sorted(heads))}: "
            f"{upgrade_hint}."
        )
    return None
