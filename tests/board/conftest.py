"""The status board on the seed dataset (and the bundled TK snapshot), statuses evaluated as of today.

Loading and evaluating the seed takes seconds, so it happens once per module and backend, inside an outer
transaction that is never committed; each test runs in a SAVEPOINT of it, rolled back afterwards, and so sees
the seed and nothing another test wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from shared.seed.loader import load_dataset
from shared.settings import Settings
from shared.status.inputs import Thresholds
from shared.status.runner import recalculate_all
from shared.tk.offline import load_snapshot
from tests.conftest import BACKENDS, REDIS_URL


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser test runs on the first configured backend only: the pages it loads are the same HTML on
    both (the rendering tests check them on both), and a browser pass takes a minute."""
    others = [
        item
        for item in items
        if item.module.__name__.endswith("test_browser")
        and getattr(item, "callspec", None)
        and item.callspec.params.get("engine") != BACKENDS[0]
    ]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if item not in others]


@pytest.fixture(scope="module")
async def seeded_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    settings = Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        redis_url=REDIS_URL,
        job_backend="inprocess",
        log_json=False,
        _env_file=None,
    )  # type: ignore[call-arg]
    async with engine.connect() as conn:
        outer = await conn.begin()
        factory = async_sessionmaker(
            bind=conn, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
        try:
            async with factory() as session:
                await load_dataset(session)
                await session.commit()
            await load_snapshot(factory, settings)
            await recalculate_all(factory, Thresholds.from_settings(settings))
            yield conn
        finally:
            await outer.rollback()


@pytest.fixture
async def connection(seeded_connection: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    savepoint = await seeded_connection.begin_nested()
    try:
        yield seeded_connection
    finally:
        await savepoint.rollback()


@pytest.fixture
def seeded(connection: Any) -> None:
    """Marks a test as reading the seed dataset (loaded by `seeded_connection`)."""
