"""The nightly full recalculation spread over workers (shared/status/fanout.py): the same stored results as one
process, each range counted once however often it runs, the run closed once; and two real `nakoming worker`
processes both take ranges."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, insert, select

from services.worker.queue import ArqQueue, InProcessQueue
from shared.commitments.models import Commitment
from shared.jobs import enqueue_jobs, keyed
from shared.milestones.models import Milestone
from shared.recommendations.models import Recommendation
from shared.seed.loader import load_dataset
from shared.status import fanout
from shared.status.inputs import Thresholds
from shared.status.models import Checkpoint, StatusHistory
from shared.status.runner import LAST_ID, plan_ranges, recalculate_all
from shared.status.service import today
from tests.conftest import REDIS_URL
from tests.services.real import Worker, own_database, queue_idle, redis_server, wait_until, worker_env

T = Thresholds()


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)

    async def clear() -> None:
        keys = await client.keys("nakoming:recalc:*")
        if keys:
            await client.delete(*keys)

    await clear()
    yield client
    await clear()
    await client.aclose()


async def snapshot(factory: Any) -> dict[str, Any]:
    async with factory() as s:
        return {
            "commitments": (
                await s.execute(
                    select(
                        Commitment.id, Commitment.status, Commitment.schedule, Commitment.reasons_digest
                    ).order_by(Commitment.id)
                )
            ).all(),
            "milestones": (
                await s.execute(select(Milestone.id, Milestone.status).order_by(Milestone.id))
            ).all(),
            "recommendations": (
                await s.execute(select(Recommendation.id, Recommendation.status).order_by(Recommendation.id))
            ).all(),
            "history": (
                await s.execute(
                    select(StatusHistory.commitment_id, func.count())
                    .group_by(StatusHistory.commitment_id)
                    .order_by(StatusHistory.commitment_id)
                )
            ).all(),
        }


async def test_plan_ranges_cover_every_id_once(session_factory: Any) -> None:
    async with session_factory() as s:
        await load_dataset(s)
        await s.commit()
        ids = list((await s.execute(select(Commitment.id).order_by(Commitment.id))).scalars())
        ranges = await plan_ranges(s, 7)
    assert len(ranges) == len(ids) // 7 + 1 and ranges[0][0] is None and ranges[-1][1] == LAST_ID
    assert all(high == ranges[i + 1][0] for i, (_, high) in enumerate(ranges[:-1]))  # consecutive, no gap
    covered = [[i for i in ids if (low is None or i > low) and i <= high] for low, high in ranges]
    assert [len(c) for c in covered[:-1]] == [7] * (len(ranges) - 1) and sum(map(len, covered)) == len(ids)


async def test_spread_run_stores_what_one_process_stores(
    session_factory: Any, queue: InProcessQueue, redis: aioredis.Redis, settings: Any
) -> None:
    async with session_factory() as s:
        await load_dataset(s)
        await s.commit()
        count = (await s.execute(select(func.count()).select_from(Commitment))).scalar_one()
    queue.ctx["redis"] = redis
    queue.ctx["settings"] = settings.model_copy(update={"recalc_batch_size": 7})
    await enqueue_jobs(queue, [keyed(fanout.RUN_JOB)])
    assert [job.name for job in queue.pending] == [fanout.RUN_JOB]
    await queue.drain()
    record = await fanout.last_run(redis)
    assert record is not None and "finished_at" in record, record
    assert int(record["total"]) == count // 7 + 1
    assert (int(record["commitments"]), int(record["changed"])) == (count, count)  # every status was new
    spread = await snapshot(session_factory)
    assert all(n == 1 for _, n in spread["history"]) and len(spread["history"]) == count
    async with session_factory() as s:
        assert (await s.get(Checkpoint, fanout.RUN_JOB)) is not None  # the run is recorded

    # One process, as of the same day, finds nothing left to change and stores exactly the same.
    again = await recalculate_all(session_factory, T, as_of=today(), batch_size=100)
    assert (again.changed, again.milestones_changed, again.recommendations_changed) == (0, 0, 0)
    assert await snapshot(session_factory) == spread
    assert len({status for _, status, _, _ in spread["commitments"]}) > 2  # the dataset is not uniform


async def test_ranges_run_twice_count_once_and_the_run_closes_once(
    session_factory: Any, queue: InProcessQueue, redis: aioredis.Redis
) -> None:
    async with session_factory() as s:
        await load_dataset(s)
        await s.commit()
        count = (await s.execute(select(func.count()).select_from(Commitment))).scalar_one()
    queue.ctx["redis"] = redis
    first = await fanout.start_run(redis, session_factory, queue, 10)
    # The coordinator run again (its worker killed after it enqueued): the same run, the same range jobs.
    second = await fanout.start_run(redis, session_factory, queue, 10)
    assert first["run"] == second["run"] and first["ranges"] == second["ranges"] == count // 10 + 1
    ranges = list(queue.pending)
    assert len(ranges) == first["ranges"] and all(
        j.job_id == f"{fanout.RANGE_JOB}:{first['run']}:{j.kwargs['index']}" for j in ranges
    )
    # A range run twice (arq re-runs a killed worker's job) is counted once, and the second time evaluates nothing.
    once = await fanout.run_range(redis, session_factory, queue, T, {}, **ranges[0].kwargs)
    twice = await fanout.run_range(redis, session_factory, queue, T, {}, **ranges[0].kwargs)
    assert (once["evaluated"], twice["evaluated"], once["done"], twice["done"]) == (True, False, 1, 1)
    await queue.drain()  # the other ranges, then the closing job (enqueued by the last one only)
    record = await fanout.last_run(redis)
    assert record is not None and int(record["commitments"]) == count and "finished_at" in record
    assert await fanout.close_run(redis, session_factory, T, first["run"]) is None  # closed already
    # A new run starts once the last one is closed.
    assert (await fanout.start_run(redis, session_factory, queue, 10))["run"] != first["run"]


async def started(worker: Worker) -> bool:
    return "Starting worker for" in worker.output()


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_two_workers_both_take_ranges(backend: str, tmp_path: Path) -> None:
    url, engine = await own_database("spread")
    count, size = 3000, 150
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Commitment),
            [
                {
                    "id": uuid.uuid4(),
                    "title": f"Toezegging {i}",
                    "due_date": dt.date(2020 + i % 10, 1, 1),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for i in range(count)
            ],
        )
    env = worker_env(url, "", NAKOMING_RECALC_BATCH_SIZE=str(size))
    workers: list[Worker] = []
    try:
        with redis_server() as server:
            env["NAKOMING_REDIS_URL"] = server.url
            client = server.client()
            for n in range(2):
                workers.append(Worker(env, tmp_path / f"worker{n}.log").start())
            await workers[0].ready(client)
            for worker in workers:  # both poll before the run starts (one may take far longer to start)
                await wait_until(lambda w=worker: started(w), 120, "both workers to start")
            await enqueue_jobs(ArqQueue(client), [keyed(fanout.RUN_JOB)])

            async def closed() -> bool:
                record = await fanout.last_run(client)
                return record is not None and "finished_at" in record

            await wait_until(closed, 120, "the spread run to close")
            await wait_until(lambda: queue_idle(client), 30, "the queue to empty")
            record = await fanout.last_run(client)
            await client.aclose()
        assert (
            record is not None
            and int(record["commitments"]) == count
            and int(record["total"]) == count // size + 1
        )
        took = [w.output().count('"status_range_recalculated"') for w in workers]
        assert sum(took) >= count // size and all(took), took  # both workers ran ranges
        async with engine.connect() as conn:
            evaluated = (
                select(func.count()).select_from(Commitment).where(Commitment.evaluated_at.is_not(None))
            )
            assert (await conn.execute(evaluated)).scalar_one() == count
    finally:
        for worker in workers:
            worker.stop()
        await engine.dispose()
