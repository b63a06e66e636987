"""The API survives its database and Redis going away and coming back.

A server restart is simulated by terminating every server-side connection of the test database
(PostgreSQL) or every client connection (Redis): what the application sees is the same broken
sockets, without stopping servers that other test runs on this machine share.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from services.api.app import create_app
from services.worker.queue import ArqQueue
from shared.db import create_engine
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.postgres_only


async def _terminate_backends(url: str) -> int:
    admin = create_engine(url, pool_size=1)
    try:
        async with admin.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            await conn.commit()
            return int(result.scalar_one())
    finally:
        await admin.dispose()


async def test_api_recovers_after_database_connections_are_killed(
    settings: Any, backend: str, make_key: Any
) -> None:
    # A real engine of its own (not the per-test transaction): this is what production runs.
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        assert (await c.get("/v1/themes")).status_code == 200
        assert (await c.get("/v1/commitments")).status_code == 200  # the raw asyncpg pool (shared/pg.py)
        assert app.state.raw_db is not None
        assert await _terminate_backends(settings.database_url) >= 2
        # pool_pre_ping notices the dead connections and reconnects: the next request just works.
        r = await c.get("/v1/themes")
        assert r.status_code == 200, r.text
        # The raw pool has no pre-ping: its read finds the dead connection and is retried on a new one.
        r = await c.get("/v1/commitments")
        assert r.status_code == 200, r.text
        assert (await c.get("/readyz")).status_code == 200


async def test_database_down_is_503_problem(settings: Any, backend: str) -> None:
    down = settings.model_copy(update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none"})
    app = create_app(down)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        for path in ("/v1/commitments", "/v1/themes"):  # the raw pool and the session path
            r = await c.get(path)
            assert r.status_code == 503, path
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"] == "5"
        assert (await c.get("/readyz")).status_code == 503
        assert (await c.get("/healthz")).status_code == 200


async def test_enqueue_survives_redis_connection_loss(backend: str) -> None:
    queue = await ArqQueue.connect(REDIS_URL)
    try:
        await queue.enqueue("test.noop", job_id="fault-1")
        killer = aioredis.from_url(REDIS_URL)
        await killer.client_kill_filter(_type="normal", skipme=True)
        await killer.aclose()
        # The pool reconnects; the job lands.
        await queue.enqueue("test.noop", job_id="fault-2")
        assert await queue.pool.exists("arq:job:fault-2")
    finally:
        await queue.pool.delete("arq:job:fault-1", "arq:job:fault-2")
        await queue.close()


async def test_enqueue_with_redis_unreachable_does_not_fail_the_write(backend: str) -> None:
    from arq.connections import ArqRedis

    dead = ArqQueue(ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    await dead.enqueue("test.noop", job_id="nowhere")  # logged, not raised: the data is committed already
    await dead.close()
