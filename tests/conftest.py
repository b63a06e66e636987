"""Test fixtures: real PostgreSQL and SQLite (every DB test runs on both), one outer transaction per test.

NAKOMING_TEST_DATABASE_URL   PostgreSQL to use (its public schema is dropped and rebuilt by migrations)
NAKOMING_TEST_BACKENDS       comma list of backends to run: postgresql,sqlite (default both)
NAKOMING_TEST_REDIS_URL      Redis for queue tests (default redis://127.0.0.1:6379/15)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from services.api.app import create_app
from services.worker.context import build_context, close_context
from services.worker.queue import InProcessQueue
from services.worker.registry import load_all
from shared.auth.service import create_api_key
from shared.db import create_engine
from shared.logging import configure_logging
from shared.migrate import upgrade
from shared.pg import JoinedConnection
from shared.settings import Settings

PG_URL = os.environ.get("NAKOMING_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("NAKOMING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
configure_logging("WARNING", json=False)

BACKENDS = [
    b.strip() for b in os.environ.get("NAKOMING_TEST_BACKENDS", "postgresql,sqlite").split(",") if b.strip()
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec
            and callspec.params.get("engine") == "sqlite"
            and item.get_closest_marker("postgres_only")
        ):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL"))


async def _fresh_postgres(url: str) -> AsyncEngine:
    engine = create_engine(url, pool_size=5)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(scope="session", params=BACKENDS)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        eng = await _fresh_postgres(PG_URL)
    else:
        path = Path(tmp_path_factory.mktemp("sqlite")) / "nakoming-test.db"
        eng = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def backend(engine: AsyncEngine) -> str:
    return engine.dialect.name


@pytest.fixture
def settings(engine: AsyncEngine) -> Settings:
    return Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        redis_url=REDIS_URL,
        job_backend="inprocess",
        log_json=False,
        # Tests share one client address; test_ratelimit.py lowers the limit on its own limiter.
        auth_failures_per_minute=1_000_000,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Sessions join the outer transaction through SAVEPOINTs: their commits stay inside the test.
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


@pytest.fixture
async def queue(
    settings: Settings, connection: AsyncConnection, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[InProcessQueue]:
    ctx = await build_context(settings, engine=connection.engine, session_factory=session_factory)
    # A copy of the registry: a test may stub a job without leaking the stub into later tests.
    q = InProcessQueue(
        ctx, dict(load_all()), eager=False
    )  # jobs run on queue.drain(), never beside a request
    ctx["queue"] = q
    yield q
    await q.close()
    await close_context(ctx)


@pytest.fixture
async def app(
    settings: Settings, connection: AsyncConnection, session_factory: Any, queue: InProcessQueue
) -> AsyncIterator[Any]:
    # On PostgreSQL the hot paths run on raw asyncpg (shared/pg.py): here on the test's own connection, so
    # they see the test's rows and are exercised exactly as in production.
    raw_db = JoinedConnection(connection) if connection.dialect.name == "postgresql" else None
    application = create_app(
        settings, engine=connection.engine, session_factory=session_factory, queue=queue, raw_db=raw_db
    )
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def _key(session_factory: Any, scopes: list[str], party_id: Any = None) -> dict[str, str]:
    async with session_factory() as s:
        _, raw = await create_api_key(s, name="test " + ",".join(scopes), scopes=scopes, party_id=party_id)
        await s.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
async def writer(session_factory: Any) -> dict[str, str]:
    """Headers of a key with read and write scopes."""
    return await _key(session_factory, ["read", "write"])


@pytest.fixture
async def admin(session_factory: Any) -> dict[str, str]:
    return await _key(session_factory, ["admin"])


@pytest.fixture
def make_key(session_factory: Any) -> Any:
    async def make(scopes: list[str], party_id: Any = None) -> dict[str, str]:
        return await _key(session_factory, scopes, party_id)

    return make


async def token_for(
    client: httpx.AsyncClient,
    session_factory: Any,
    scopes: list[str],
    party_id: Any = None,
) -> dict[str, str]:
    """Headers with an OAuth2 access token of a new client (client credentials over HTTP Basic)."""
    from shared.auth.clients import create_client

    async with session_factory() as s:
        made, secret = await create_client(
            s, name="test client " + ",".join(scopes), scopes=scopes, party_id=party_id
        )
        await s.commit()
    r = await client.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(made.client_id, secret or "")
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def make_token(client: httpx.AsyncClient, session_factory: Any) -> Any:
    async def make(scopes: list[str], party_id: Any = None) -> dict[str, str]:
        return await token_for(client, session_factory, scopes, party_id)

    return make
