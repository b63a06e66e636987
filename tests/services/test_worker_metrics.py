"""The worker's metrics: queue depth per job name read from Redis when scraped, and job runs, outcomes and
durations counted by the registry, served by the real `nakoming worker` on NAKOMING_METRICS_PORT."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from services.worker.metrics import queue_depth
from services.worker.queue import ArqQueue
from shared.commitments.events import RECALCULATE_JOB
from shared.jobs import enqueue_jobs, job_id, job_name_of, keyed
from shared.signals.batches import PROCESS_JOB
from tests.api.test_metrics import value
from tests.services.real import (
    Worker,
    free_port,
    own_database,
    queue_idle,
    redis_server,
    wait_until,
    worker_env,
)


def test_job_name_of_inverts_job_id() -> None:
    assert job_name_of(job_id(RECALCULATE_JOB, "0b7c")) == RECALCULATE_JOB
    assert job_name_of(job_id("signals.refresh_counts")) == "signals.refresh_counts"
    assert job_name_of("cron:status.recalculate_all:1764547200000") == "status.recalculate_all"
    assert job_name_of("5f0c2d1e9a8b4c3d") == ""  # a random id names no job


async def test_queue_depth_per_job_name() -> None:
    with redis_server() as server:
        redis = server.client()
        try:
            queue = ArqQueue(redis)
            await enqueue_jobs(queue, [keyed(RECALCULATE_JOB, n, commitment_id=str(n)) for n in range(3)])
            await enqueue_jobs(queue, [keyed(PROCESS_JOB, "b1", batch_id="b1"), keyed(RECALCULATE_JOB, 0)])
            await queue.enqueue("test.unnamed")  # a random id
            collector = queue_depth(redis, [RECALCULATE_JOB, PROCESS_JOB, "tk.sync_category"])
            await collector.refresh()
            depth = {s.labels["job"]: s.value for family in collector.collect() for s in family.samples}
        finally:
            await redis.aclose()
    assert depth == {RECALCULATE_JOB: 3, PROCESS_JOB: 1, "tk.sync_category": 0, "other": 1}


@pytest.mark.postgres_only
async def test_the_worker_serves_its_metrics_on_the_metrics_port(backend: str, tmp_path: Path) -> None:
    url, engine = await own_database("worker_metrics")
    with redis_server() as server:
        port = free_port()  # after the Redis server took its own
        redis = server.client()
        worker = Worker(worker_env(url, server.url, NAKOMING_METRICS_PORT=str(port)), tmp_path / "worker.log")
        worker.start()
        try:
            await worker.ready(redis)
            await enqueue_jobs(ArqQueue(redis), [keyed("signals.refresh_counts")])
            await wait_until(lambda: queue_idle(redis), 30, "the job to run")
            async with httpx.AsyncClient() as http:
                for _ in range(50):  # the job's counter is written just after its key is deleted
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                    if value(text, "nakoming_job_runs_total", job="signals.refresh_counts", outcome="ok"):
                        break
                    await asyncio.sleep(0.1)
        finally:
            worker.stop()
            await redis.aclose()
            await engine.dispose()
    assert value(text, "nakoming_job_runs_total", job="signals.refresh_counts", outcome="ok") == 1, (
        worker.output()
    )
    assert value(text, "nakoming_job_duration_seconds_count", job="signals.refresh_counts") == 1
    assert (
        value(text, "nakoming_queue_depth", job=RECALCULATE_JOB) == 0
    )  # (a schedule may have queued others)
    assert value(text, "nakoming_queue_depth", job="other") is not None
    assert value(text, "nakoming_db_pool_connections_in_use") is not None
    assert "nakoming_commitments" not in text  # the database figures are the API's
