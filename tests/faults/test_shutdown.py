"""SIGTERM, as Kubernetes sends it, to the real processes (`nakoming serve`, `nakoming worker`) on PostgreSQL and
Redis: the API finishes a slow in-flight request (200/201) and exits 0, taking no new connections meanwhile; the
worker lets a running job finish within its grace period, or returns it to the queue when the grace period
ends, and a restarted worker completes it: either way every commitment is evaluated exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.worker.queue import ArqQueue
from shared.commitments.models import Commitment
from shared.jobs import enqueue_jobs, keyed
from shared.status.models import StatusHistory
from tests.services.real import (
    ROOT,
    Worker,
    free_port,
    own_database,
    queue_idle,
    redis_server,
    wait_until,
    worker_env,
    writer_key,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]
RECALC_ALL = "status.recalculate_all"


class World:
    def __init__(self, url: str, engine: AsyncEngine, redis_url: str, redis: Any, tmp: Path) -> None:
        self.url, self.engine, self.redis_url, self.redis, self.tmp = url, engine, redis_url, redis, tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[Worker] = []

    async def scalar(self, stmt: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    def worker(self, **env: str) -> Worker:
        worker = Worker(
            worker_env(self.url, self.redis_url, **env), self.tmp / f"worker{len(self.workers)}.log"
        )
        self.workers.append(worker.start())
        return worker


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    url, engine = await own_database("shutdown")
    with redis_server() as server:
        w = World(url, engine, server.url, server.client(), tmp_path)
        try:
            yield w
        finally:
            for proc in w.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for worker in w.workers:
                worker.stop()
            await w.redis.aclose()
            await engine.dispose()


async def test_api_finishes_an_in_flight_request_after_sigterm_and_exits_0(world: World) -> None:
    port = free_port()
    log = world.tmp / "api.log"
    env = worker_env(world.url, world.redis_url, NAKOMING_SHUTDOWN_GRACE_SECONDS="20")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    world.procs.append(proc)
    base = f"http://127.0.0.1:{port}"
    headers = await writer_key(world.engine)

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"{base}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(up, 60, "the API to be ready")
    first_part_sent, go_on = asyncio.Event(), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        """A client uploading slowly: the request is in flight on the server while SIGTERM arrives."""
        yield b'{"title": "Toezegging tijdens '
        first_part_sent.set()
        await go_on.wait()
        yield b'het afsluiten"}'

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        slow = asyncio.create_task(
            http.post(
                "/v1/commitments",
                content=slow_body(),
                headers={**headers, "content-type": "application/json"},
            )
        )
        await first_part_sent.wait()
        await asyncio.sleep(0.5)  # the server has read the first part and waits for the rest
        proc.send_signal(signal.SIGTERM)
        await wait_until(lambda: _logged(log, "shutdown_started"), 10, "readiness to turn false")
        await asyncio.sleep(0.5)
        with pytest.raises(httpx.ConnectError):  # no new connections once shutting down
            async with httpx.AsyncClient() as other:
                await other.get(f"{base}/healthz", timeout=2)
        assert proc.poll() is None  # still there: the request is in flight
        go_on.set()
        response = await slow
    assert response.status_code == 201, response.text
    assert await asyncio.to_thread(proc.wait, 30) == 0, log.read_text()[-3000:]
    title = await world.scalar(
        select(Commitment.title).where(Commitment.id == uuid.UUID(response.json()["id"]))
    )
    assert title == "Toezegging tijdens het afsluiten"


async def _logged(log: Path, event: str) -> bool:
    return event in log.read_text(errors="replace")


async def _commitments(world: World, count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "title": f"Toezegging {i}",
            "due_date": dt.date(2020 + i % 5, 1, 1),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for i in range(count)
    ]
    async with world.engine.begin() as conn:
        await conn.execute(insert(Commitment), rows)


async def _evaluated(world: World) -> int:
    return await world.scalar(
        select(func.count()).select_from(Commitment).where(Commitment.evaluated_at.is_not(None))
    )


async def _exactly_one_effect(world: World, count: int) -> None:
    """Every commitment evaluated, and each one's change recorded once (a second, different run would have
    left a second history row or a commitment without one)."""
    assert await _evaluated(world) == count
    assert await world.scalar(select(func.count()).select_from(StatusHistory)) == count
    assert await world.scalar(select(func.count(StatusHistory.commitment_id.distinct()))) == count


async def _start_recalculation(world: World, count: int, batch: int = 500, **env: str) -> Worker:
    await _commitments(world, count)
    worker = world.worker(NAKOMING_RECALC_BATCH_SIZE=str(batch), **env)
    await worker.ready(world.redis)
    await enqueue_jobs(ArqQueue(world.redis), [keyed(RECALC_ALL)])

    async def under_way() -> bool:
        # Some ranges stored, or (one range for all) that range running.
        return (
            0 < await _evaluated(world) < count
            if batch < count
            else bool(await world.redis.keys("arq:in-progress:status.recalculate_range*"))
        )

    await wait_until(under_way, 60, "the recalculation to be under way", step=0.02)
    return worker


async def test_worker_finishes_its_running_job_after_sigterm_and_exits_0(world: World) -> None:
    count = 20_000
    worker = await _start_recalculation(world, count, NAKOMING_WORKER_GRACE_SECONDS="120")
    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert await asyncio.to_thread(worker.proc.wait, 120) == 0, worker.output()[-3000:]
    assert time.monotonic() - started < 120
    # The run is spread over range jobs (services/worker/tasks/status.py): the ranges this worker was running
    # finished (none cancelled, none left in progress); the ranges it had not started wait in the queue.
    assert "cancelled" not in worker.output()
    assert not await world.redis.keys("arq:in-progress:*")
    world.worker()
    await wait_until(lambda: queue_idle(world.redis), 120, "a second worker to run the remaining ranges")
    await _exactly_one_effect(world, count)


async def test_worker_returns_a_job_to_the_queue_when_its_grace_ends_and_it_is_run_again(
    world: World,
) -> None:
    count = 20_000
    # One range of all 20,000 (several seconds of work), so it is still running when the grace ends.
    worker = await _start_recalculation(world, count, batch=count, NAKOMING_WORKER_GRACE_SECONDS="1")
    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.proc.wait, 60) == 0, worker.output()[-3000:]
    assert await _evaluated(world) < count  # cut short: the running range went back, it was not lost
    assert "cancelled" in worker.output()
    assert await world.redis.keys("arq:job:*")
    assert not await world.redis.keys("arq:in-progress:*")  # no lease to wait for: handed back
    second = world.worker()
    await wait_until(lambda: queue_idle(world.redis), 120, "the restarted worker to finish the job")
    assert second.alive, second.output()[-3000:]
    await _exactly_one_effect(world, count)
