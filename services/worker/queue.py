"""Job queues: arq on Redis for the separate worker, or in-process for the embedded default.

Both give a job id (shared/jobs.py `job_id`) the same meaning, so that a write is never left without a
run that sees it:

* a request while the id's job is queued (not started) collapses into it: that job will read the data later;
* a request while the id's job runs, or after it ended, makes it run again once more after it ends.

On arq this is done with a "rerun" marker beside arq's own job key, never with arq's refusal of a known id
(which silently drops a request while the job runs or while its result is kept):

E  enqueue (one Lua script, atomic in Redis): if `arq:job:<id>` exists (queued or running), set the marker
   `nakoming:rerun:<id>` to the request's payload; else create the job (job key + queue entry).
S  start (worker on_job_start, before the job function reads anything): delete the marker.
F  arq's finish_job deletes the job key; only then does after_job_end run:
A  after_job_end (one Lua script): if the marker is set and no job key exists, delete the marker and create
   the job from it; if a job key exists, leave the marker to that job.

Why no write is lost: take a write committed at t, whose E runs after t. If E created the job, that job starts
after t. Otherwise a job J existed at E. If J's S had not happened yet, J reads after S > E > t. If it had, the
marker set by E survives until S of some job (which then reads after it) or until an A: an A that finds no job
key creates a job that starts after it; an A that finds a job key K leaves the marker, and K either has not
passed S (it reads after) or has, in which case the marker was set after K's S and K's own A sees it. A job
killed mid-run keeps its job key (arq re-runs it when its in-progress lease lapses: services/worker/worker.py),
so its marker is kept for that re-run.

While Redis is unreachable, `ArqQueue.enqueue` keeps the request in memory (collapsed per job id) and a
background task sends them as soon as Redis answers again (probing every RETRY_INTERVAL seconds): the data is
committed, and a lost request would leave a status that does not reflect it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from typing import Any

import structlog
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import default_queue_name, expires_extra_ms, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.exceptions import RedisError

from services.worker.serialization import job_deserializer, job_serializer
from shared.jobs import PendingJob
from shared.tracing import inject

log = structlog.get_logger("nakoming.jobs")

RERUN_PREFIX = "nakoming:rerun:"
RETRY_INTERVAL = 0.5  # seconds between attempts to send requests kept while Redis was down
MAX_KEPT = 100_000  # requests kept in memory while Redis is down (one per job id; ids collapse)
# What Redis being away looks like to a client (refused, reset, timed out, restarting with its data loading).
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)

_ENQUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"""

_RERUN = """
local payload = redis.call('GET', KEYS[3])
if not payload then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[1], payload, 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


class ArqQueue:
    def __init__(self, pool: ArqRedis, *, queue_name: str = default_queue_name) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self._enqueue = pool.register_script(_ENQUEUE)
        self._rerun = pool.register_script(_RERUN)
        self._kept: OrderedDict[str, PendingJob] = OrderedDict()
        self._sender: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str) -> ArqQueue:
        pool = await create_pool(
            redis_settings(url), job_serializer=job_serializer, job_deserializer=job_deserializer
        )
        return cls(pool)

    def _keys(self, job_id: str) -> list[str]:
        return [job_key_prefix + job_id, self.queue_name, RERUN_PREFIX + job_id]

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        job = PendingJob(name, inject(kwargs), job_id or uuid.uuid4().hex)
        if self._kept:  # Redis was down a moment ago: keep the order, the sender delivers these
            self._keep(job)
            return
        try:
            await self.send(job)
        except REDIS_DOWN as exc:
            self._keep(job, exc)

    async def send(self, job: PendingJob) -> bool:
        """Create the job, or mark the existing one to run again (True when created)."""
        assert job.job_id is not None
        now = timestamp_ms()
        payload = serialize_job(job.name, (), job.kwargs, None, now, serializer=job_serializer)
        created = await self._enqueue(
            keys=self._keys(job.job_id), args=[job.job_id, payload, expires_extra_ms, now]
        )
        return bool(created)

    async def job_started(self, job_id: str) -> None:
        """S: the job is about to read its data; requests made so far are covered by this run."""
        await self.pool.delete(RERUN_PREFIX + job_id)

    async def job_ended(self, job_id: str) -> bool:
        """A: after arq removed the job key; run it again when a request came while it ran (True if so)."""
        return (
            await self._rerun(keys=self._keys(job_id), args=[job_id, expires_extra_ms, timestamp_ms()])
        ) == 1

    def _keep(self, job: PendingJob, exc: BaseException | None = None) -> None:
        if exc is not None and not self._kept:
            log.warning(
                "redis_unavailable_jobs_kept",
                job=job.name,
                error=type(exc).__name__,
                detail="jobs are kept in memory and sent when Redis answers again",
            )
        assert job.job_id is not None
        if job.job_id not in self._kept and len(self._kept) >= MAX_KEPT:
            dropped = self._kept.popitem(last=False)[1]
            log.error("job_dropped", job=dropped.name, job_id=dropped.job_id, kept=MAX_KEPT)
        self._kept.setdefault(job.job_id, job)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_kept(), name="nakoming-kept-jobs")

    async def _send_kept(self) -> None:
        sent = 0
        while self._kept:
            job_id, job = next(iter(self._kept.items()))
            try:
                await self.send(job)
            except REDIS_DOWN:
                await asyncio.sleep(RETRY_INTERVAL)
                continue
            self._kept.pop(job_id, None)
            sent += 1
        log.info("redis_available_jobs_sent", sent=sent)

    @property
    def kept(self) -> int:
        return len(self._kept)

    async def close(self) -> None:
        if self._sender is not None and not self._sender.done():
            if self._kept:
                log.error(
                    "jobs_not_sent", count=len(self._kept), detail="Redis stayed unreachable until shutdown"
                )
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        await self.pool.aclose()


class InProcessQueue:
    """Runs jobs as asyncio tasks in this process, with the job-id semantics of the arq queue above
    (embedded default, `nakoming sync`, tests).

    With eager=False (tests) jobs wait until drain() runs them one after another: tests share one
    database connection, which a job running beside the next request would use concurrently.
    """

    def __init__(self, ctx: dict[str, Any], functions: dict[str, Any], *, eager: bool = True) -> None:
        self.ctx = ctx
        self.functions = functions
        self.eager = eager
        self.tasks: set[asyncio.Task[Any]] = set()
        self._queued: OrderedDict[str, PendingJob] = OrderedDict()  # requested, not started (drain order)
        self._running: set[str] = set()
        self._rerun: dict[str, PendingJob] = {}  # requested while running: run again when it ends

    @property
    def pending(self) -> list[PendingJob]:
        return list(self._queued.values())

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        if name not in self.functions:
            log.error("unknown_job", job=name)
            return
        self._request(PendingJob(name, inject(kwargs), job_id or uuid.uuid4().hex))

    def _request(self, job: PendingJob) -> None:
        assert job.job_id is not None
        if job.job_id in self._queued:
            return  # collapses into the queued run, which has not read anything yet
        if job.job_id in self._running:
            self._rerun[job.job_id] = job
            return
        self._queued[job.job_id] = job
        if self.eager:
            task = asyncio.create_task(self._run(job.job_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, job_id: str) -> Any:
        job = self._queued.pop(job_id)
        self._running.add(job_id)
        self._rerun.pop(job_id, None)  # S: requests so far are covered by this run
        try:
            return await self.functions[job.name]({**self.ctx, "job_try": 1, "job_id": job_id}, **job.kwargs)
        except Exception as exc:
            log.exception("job_failed", job=job.name, job_id=job_id, reason=f"{type(exc).__name__}: {exc}")
            return None
        finally:
            self._running.discard(job_id)
            again = self._rerun.pop(job_id, None)
            if again is not None:
                self._request(again)

    async def drain(self) -> None:
        while self.tasks or (self._queued and not self.eager):
            if self._queued and not self.eager:
                await self._run(next(iter(self._queued)))
                continue
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
