"""Job queues: arq on Redis for the separate worker, or in-process for the embedded default."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from services.worker.serialization import job_deserializer, job_serializer

log = structlog.get_logger("nakoming.jobs")


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


class ArqQueue:
    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, url: str) -> "ArqQueue":
        pool = await create_pool(redis_settings(url), job_serializer=job_serializer,
                                 job_deserializer=job_deserializer)
        return cls(pool)

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        try:
            await self.pool.enqueue_job(name, _job_id=job_id, **kwargs)
        except Exception:  # Redis down: the data is committed; the nightly full run repairs the gap
            log.exception("enqueue_failed", job=name, job_id=job_id)

    async def close(self) -> None:
        await self.pool.aclose()


class InProcessQueue:
    """Runs jobs as asyncio tasks in this process, one at a time per job id (embedded default, tests).

    With eager=False (tests) jobs wait until drain() runs them one after another: tests share one
    database connection, which a job running beside the next request would use concurrently.
    """

    def __init__(self, ctx: dict[str, Any], functions: dict[str, Any], *, eager: bool = True) -> None:
        self.ctx = ctx
        self.functions = functions
        self.eager = eager
        self.tasks: set[asyncio.Task[Any]] = set()
        self._running: dict[str, asyncio.Task[Any]] = {}
        self.pending: list[tuple[str, Any, dict[str, Any], str | None]] = []

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        func = self.functions.get(name)
        if func is None:
            log.error("unknown_job", job=name)
            return
        if not self.eager:
            if job_id is None or all(job_id != queued[3] for queued in self.pending):
                self.pending.append((name, func, kwargs, job_id))
            return
        if job_id and job_id in self._running and not self._running[job_id].done():
            return  # same semantics as arq: one job per id at a time
        task = asyncio.create_task(self._run(name, func, kwargs))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if job_id:
            self._running[job_id] = task
            task.add_done_callback(lambda _t, key=job_id: self._running.pop(key, None))

    async def _run(self, name: str, func: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return await func({**self.ctx, "job_try": 1}, **kwargs)
        except Exception:
            log.exception("job_failed", job=name)
            return None

    async def drain(self) -> None:
        while self.tasks or self.pending:
            if self.pending:
                name, func, kwargs, _ = self.pending.pop(0)
                await self._run(name, func, kwargs)
                continue
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
