"""The real `nakoming worker` outlives Redis and PostgreSQL going away: it waits (logging the outage once, not a
traceback per poll), reconnects, and carries on; a write accepted by the API during the outage is recalculated
within moments of recovery. Redis is a redis-server of the test's own, stopped and started again; PostgreSQL is
reached through a relay the test cuts."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.services.real import (
    PG_URL,
    RedisServer,
    TcpProxy,
    Worker,
    api,
    own_database,
    queue_idle,
    settings_for,
    wait_until,
    worker_env,
    writer_key,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

# 8 s in the suite; NAKOMING_TEST_OUTAGE_SECONDS=60 for the full minute (bench/visible/RESULTS.md)
OUTAGE_SECONDS = float(os.environ.get("NAKOMING_TEST_OUTAGE_SECONDS", "8"))
PAST = "2020-03-01"


async def schedule_of(client: object, commitment_id: str) -> str:
    return (await client.get(f"/v1/commitments/{commitment_id}")).json()["schedule"]  # type: ignore[attr-defined]


async def test_worker_survives_a_redis_outage(backend: str, tmp_path: Path) -> None:
    url, engine = await own_database("jobs_outage")
    server = RedisServer()
    server.start()
    worker = Worker(worker_env(url, server.url), tmp_path / "worker.log").start()
    redis = server.client()
    try:
        await worker.ready(redis)
        async with api(settings_for(url, server.url, "arq")) as client:
            headers = await writer_key(engine)
            r = await client.post("/v1/commitments", json={"title": "Tijdens een storing"}, headers=headers)
            commitment_id = r.json()["id"]
            await wait_until(lambda: queue_idle(redis), 30, "the first recalculation")
            assert await schedule_of(client, commitment_id) == "no_deadline"

            server.stop()
            # accepted while Redis is down: the API keeps the job and sends it when Redis is back
            r = await client.patch(
                f"/v1/commitments/{commitment_id}", json={"due_date": PAST}, headers=headers
            )
            assert r.status_code == 200, r.text
            # the recalculation, and the webhook fan-out its commitment.updated event wakes (shared/events)
            assert client.app.state.queue.kept == 2  # type: ignore[attr-defined]
            await asyncio.sleep(OUTAGE_SECONDS)
            assert worker.alive, worker.output()[-3000:]

            server.start()
            back = time.monotonic()
            await wait_until(
                lambda: _is(schedule_of(client, commitment_id), "overdue"), 20, "the kept write's job"
            )
            assert time.monotonic() - back < 5
            assert client.app.state.queue.kept == 0  # type: ignore[attr-defined]
        assert worker.alive
        log = worker.output()
        assert log.count('"redis_unavailable"') == 1 and log.count('"redis_available"') == 1, log[-3000:]
        assert "Traceback" not in log
    finally:
        worker.stop()
        await redis.aclose()
        server.stop()
        await engine.dispose()


async def test_worker_survives_a_database_outage(backend: str, tmp_path: Path) -> None:
    url, engine = await own_database("jobs_outage")
    target = make_url(PG_URL)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    server = RedisServer()
    server.start()
    worker = Worker(worker_env(proxy.url(url), server.url), tmp_path / "worker.log").start()
    redis = server.client()
    try:
        await worker.ready(redis)
        async with api(
            settings_for(url, server.url, "arq")
        ) as client:  # the API reaches the database directly
            headers = await writer_key(engine)
            r = await client.post("/v1/commitments", json={"title": "Database weg"}, headers=headers)
            commitment_id = r.json()["id"]
            await wait_until(lambda: queue_idle(redis), 30, "the first recalculation")

            await proxy.stop()
            r = await client.patch(
                f"/v1/commitments/{commitment_id}", json={"due_date": PAST}, headers=headers
            )
            assert r.status_code == 200, r.text
            await asyncio.sleep(OUTAGE_SECONDS)
            assert worker.alive, worker.output()[-3000:]
            assert await schedule_of(client, commitment_id) == "no_deadline"  # the job is waiting

            await proxy.start()
            back = time.monotonic()
            await wait_until(
                lambda: _is(schedule_of(client, commitment_id), "overdue"), 20, "the waiting job"
            )
            assert time.monotonic() - back < 5
            await wait_until(lambda: queue_idle(redis), 30, "the queue to go idle")
        assert worker.alive
        log = worker.output()
        # once per job that met the outage (the recalculation, perhaps a scheduled job), not once per attempt
        waits = [line for line in log.splitlines() if '"database_unavailable"' in line]
        assert 1 <= len(waits) == len({_job(line) for line in waits}), log[-3000:]
        assert log.count('"database_available"') == len(waits)
        assert "Traceback" not in log
    finally:
        worker.stop()
        await redis.aclose()
        server.stop()
        await proxy.stop()
        await engine.dispose()


async def _is(value: object, expected: str) -> bool:
    return await value == expected  # type: ignore[misc]


def _job(line: str) -> str:
    return json.loads(line)["job"]
