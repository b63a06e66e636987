"""The arq worker as `nakoming worker` runs it: safe to kill at any instant, and it outlives Redis outages.

* Lease: arq marks a running job with an in-progress key whose TTL is the job timeout (an hour), so a job
  of a killed worker would wait that long. Here the key lives NAKOMING_JOB_LEASE_SECONDS (30) and a heartbeat
  renews it every third of that while the job runs; when the worker dies the lease lapses and any worker (or this one,
  restarted) runs the job again, well within a minute. Jobs are idempotent and may be run again, so the
  registry allows several tries (arq counts a killed run as a try).
* Job ids: on_job_start clears the job's rerun marker before the job reads anything, after_job_end runs it
  again when a request came in meanwhile (services/worker/queue.py explains the ordering).
* Spreading: a job with a per-worker cap (registry `per_worker`, e.g. the ranges of the nightly run) is left in
  the queue while this worker runs that many of it, so the other workers take the rest.
* Redis outage: arq's poll loop raises on the first refused connection and the process exits. Here a poll that
  cannot reach Redis is logged once, retried every `poll_delay` (at most; starting faster), and the worker
  carries on where it was; a job whose bookkeeping failed keeps its job key, so it runs again. (Database
  outages are waited out by each job: services/worker/outage.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog
from arq.connections import create_pool
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import ResponseError, WatchError

from services.worker.outage import Outage
from services.worker.queue import REDIS_DOWN, ArqQueue
from services.worker.registry import PER_WORKER
from shared.settings import get_settings

log = structlog.get_logger("nakoming.worker")


class NakomingWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_progress_timeout_s = get_settings().job_lease_seconds
        self.redis_outage = Outage("redis", self.poll_delay_s)

    async def main(self) -> None:
        while self._pool is None:  # Redis may be down when the worker starts, too
            try:
                self._pool = await create_pool(
                    self.redis_settings,
                    job_deserializer=self.job_deserializer,
                    job_serializer=self.job_serializer,
                    default_queue_name=self.queue_name,
                    expires_extra_ms=self.expires_extra_ms,
                    retry=0,
                )
            except REDIS_DOWN as exc:
                await asyncio.sleep(self.redis_outage.failed(exc))
        self.redis_outage.recovered()
        await super().main()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            await asyncio.sleep(self.redis_outage.failed(exc))
            return
        self.redis_outage.recovered()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's start_jobs, except that a Redis error releases the slot it took (arq leaks it, and after
        max_jobs failed polls the worker would never start a job again) and the lease is short."""
        for job_id_b in job_ids:
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                return None
            self.job_counter += 1
            job_id = job_id_b.decode()
            started = False
            try:
                started = not self._at_cap(job_id) and await self._claim(job_id)
            finally:
                if not started:
                    self.job_counter -= 1
                    self.sem.release()

    def _at_cap(self, job_id: str) -> bool:
        """True when the job's name has a per-worker cap that this worker's running jobs reach already."""
        name = job_id.partition(":")[0]
        cap = PER_WORKER.get(name)
        return (
            cap is not None
            and sum(
                1
                for running, task in self.tasks.items()
                if not task.done() and running.partition(":")[0] == name
            )
            >= cap
        )

    async def _claim(self, job_id: str) -> bool:
        in_progress_key = in_progress_key_prefix + job_id
        async with self.pool.pipeline(transaction=True) as pipe:
            await pipe.watch(in_progress_key)
            ongoing_exists = await pipe.exists(in_progress_key)
            score = await pipe.zscore(self.queue_name, job_id)
            if ongoing_exists or not score or score > time.time() * 1000:
                return False  # running elsewhere, finished meanwhile, or deferred
            pipe.multi()
            pipe.psetex(in_progress_key, int(self.in_progress_timeout_s * 1000), b"1")
            try:
                await pipe.execute()
            except (ResponseError, WatchError):
                return False  # another worker claimed it first
        task = self.loop.create_task(self.run_job(job_id, int(score)))
        task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        self.tasks[job_id] = task
        return True

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        except REDIS_DOWN as exc:
            # The job's state in Redis could not be read or written: its job key is still there, so it runs
            # again once the lease lapses (it is idempotent).
            log.warning(
                "job_bookkeeping_failed",
                job_id=job_id,
                error=type(exc).__name__,
                detail="the job runs again when its lease lapses",
            )


async def on_job_start(ctx: dict[str, Any]) -> None:
    queue: ArqQueue = ctx["queue"]
    await queue.job_started(ctx["job_id"])  # before the lease: if Redis fails here, nothing is left renewing
    ctx["_lease"] = asyncio.create_task(
        _renew_lease(queue, ctx["job_id"], ctx["settings"].job_lease_seconds), name=f"lease:{ctx['job_id']}"
    )


async def on_job_end(ctx: dict[str, Any]) -> None:
    await _end_lease(ctx)


async def after_job_end(ctx: dict[str, Any]) -> None:
    await _end_lease(ctx)
    if await ctx["queue"].job_ended(ctx["job_id"]):
        log.info("job_rerun", job_id=ctx["job_id"], detail="requested again while it ran")


async def _end_lease(ctx: dict[str, Any]) -> None:
    lease = ctx.pop("_lease", None)
    if lease is not None:
        lease.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lease


async def _renew_lease(queue: ArqQueue, job_id: str, seconds: int) -> None:
    key = in_progress_key_prefix + job_id
    while True:
        await asyncio.sleep(seconds / 3)
        try:
            await queue.pool.pexpire(key, seconds * 1000)
        except REDIS_DOWN:
            continue  # Redis is away: no other worker can claim the job either; renew when it is back
