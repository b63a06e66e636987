"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.migrate import upgrade


async def fresh_database(url: str) -> AsyncEngine:
    """Drop and recreate the benchmark database named in `url`, migrate it, and return an engine on it."""
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = create_engine(url)
    await upgrade(engine)
    return engine
