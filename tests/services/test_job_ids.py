"""A job id collapses requests only while its job is queued: a request made while the job runs, or after it
ended, makes it run again and that run sees the request's data. On the real arq worker (against a Redis of
the test's own) and on the in-process queue alike."""

from __future__ import annotations

import asyncio
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import func

from services.worker import worker as hooks
from services.worker.queue import ArqQueue, InProcessQueue
from services.worker.serialization import job_deserializer, job_serializer
from services.worker.worker import NakomingWorker
from shared.settings import Settings
from tests.services.real import queue_idle, redis_server, wait_until


class SlowJob:
    """A job that records the value it read, then holds until the test lets it finish."""

    def __init__(self) -> None:
        self.data = 0
        self.seen: list[int] = []
        self.permits = asyncio.Semaphore(0)

    async def __call__(self, ctx: dict[str, Any], key: str) -> None:
        self.seen.append(self.data)
        await self.permits.acquire()

    async def runs(self, n: int) -> None:
        await wait_until(lambda: _true(len(self.seen) >= n), 20, f"run {n} of the job")


async def _true(value: bool) -> bool:
    return value


async def scenario(job: SlowJob, enqueue: Any, idle: Any) -> None:
    await enqueue()
    await enqueue()  # still queued: collapses
    await job.runs(1)
    job.data = 1
    await enqueue()  # lands while the job runs
    job.data = 2
    await enqueue()  # collapses with the request above
    job.permits.release()
    await job.runs(2)
    assert job.seen == [0, 2]  # the second run saw the last write
    job.permits.release()
    await wait_until(idle, 20, "the queue to go idle")
    job.data = 3
    await enqueue()  # after the job ended: runs again at once (no kept result blocks the id)
    await job.runs(3)
    job.permits.release()
    await wait_until(idle, 20, "the queue to go idle")
    assert job.seen == [0, 2, 3]


async def test_arq_worker_reruns_a_job_requested_while_it_ran() -> None:
    job = SlowJob()
    with redis_server() as server:
        pool = await create_pool(
            RedisSettings.from_dsn(server.url),
            job_serializer=job_serializer,
            job_deserializer=job_deserializer,
        )
        queue = ArqQueue(pool)
        worker = NakomingWorker(
            functions=[func(job.__call__, name="test.slow")],
            redis_pool=pool,
            handle_signals=False,
            poll_delay=0.05,
            keep_result=0,
            job_serializer=job_serializer,
            job_deserializer=job_deserializer,
            on_job_start=hooks.on_job_start,
            on_job_end=hooks.on_job_end,
            after_job_end=hooks.after_job_end,
            ctx={"queue": queue, "settings": Settings(_env_file=None)},
        )  # type: ignore[call-arg]
        running = asyncio.create_task(worker.async_run())
        try:
            await scenario(
                job,
                lambda: queue.enqueue("test.slow", job_id="test.slow:1", key="1"),
                lambda: queue_idle(pool),
            )
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await worker.close()


async def test_in_process_queue_reruns_a_job_requested_while_it_ran() -> None:
    job = SlowJob()
    queue = InProcessQueue({}, {"test.slow": job})

    async def idle() -> bool:
        return not queue.tasks and not queue.pending

    try:
        await scenario(job, lambda: queue.enqueue("test.slow", job_id="test.slow:1", key="1"), idle)
    finally:
        await queue.close()


async def test_in_process_queue_without_eagerness_collapses_and_reruns_in_drain() -> None:
    seen: list[str] = []
    queue: InProcessQueue

    async def record(ctx: dict[str, Any], key: str) -> None:
        seen.append(key)
        if len(seen) == 1:  # a write landing while the first run runs
            await queue.enqueue("test.job", job_id="test.job:a", key="again")

    queue = InProcessQueue({}, {"test.job": record}, eager=False)
    await queue.enqueue("test.job", job_id="test.job:a", key="first")
    await queue.enqueue("test.job", job_id="test.job:a", key="collapsed")
    await queue.drain()
    assert seen == ["first", "again"]
