"""Jobs are recorded on the session during a unit of work and enqueued only after it commits.

A worker therefore never sees uncommitted rows, and a rolled-back request enqueues nothing.
Which queue receives them (arq on Redis, or in-process for the embedded default) is the
caller's choice: see services/worker/queue.py.

A job's identity is `job_id(name, key)`: the job's name plus the key of what it works on (a commitment,
a batch, a category), or the name alone for a job about everything (signal counts). Both queues give an
identity the same meaning: requests for it collapse while its job is queued, and a request that lands
while the job runs, or after it ended, makes it run again (services/worker/queue.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def job_id(name: str, key: object | None = None) -> str:
    """The one definition of a keyed job's id."""
    return name if key is None else f"{name}:{key}"


def job_name_of(queued_id: str) -> str:
    """The job name in a queued job's id: the inverse of `job_id`, and of arq's `cron:<name>:<time>` for
    schedules (the name is `domain.verb`, so it holds no colon). An id of another form (a random one) gives ''."""
    name = queued_id.removeprefix("cron:").split(":", 1)[0]
    return name if "." in name else ""


@dataclass(frozen=True)
class PendingJob:
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None


def keyed(name: str, key: object | None = None, **kwargs: Any) -> PendingJob:
    """A job identified by `job_id(name, key)`."""
    return PendingJob(name, kwargs, job_id(name, key))


class JobQueue(Protocol):
    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None: ...


def defer_job(session: AsyncSession, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
    """Record a job to enqueue after this session commits (deduplicated within the unit of work)."""
    defer(session, PendingJob(name, kwargs, job_id))


def defer(session: AsyncSession, job: PendingJob) -> None:
    pending: list[PendingJob] = session.info.setdefault("pending_jobs", [])
    if job not in pending:
        pending.append(job)


def take_pending_jobs(session: AsyncSession) -> list[PendingJob]:
    return session.info.pop("pending_jobs", [])


def drop_pending_jobs(session: AsyncSession) -> None:
    session.info.pop("pending_jobs", None)


async def enqueue_jobs(queue: JobQueue | None, jobs: list[PendingJob]) -> None:
    """Enqueue jobs whose unit of work has committed (nothing without a queue)."""
    if queue is not None:
        for job in jobs:
            await queue.enqueue(job.name, job_id=job.job_id, **job.kwargs)


async def flush_jobs(session: AsyncSession, queue: JobQueue | None) -> None:
    await enqueue_jobs(queue, take_pending_jobs(session))


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession], queue: JobQueue | None
) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed when the block ends and whose jobs are enqueued only after that commit;
    a failure rolls back and drops the jobs (requests, TK pages, fetched documents)."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            drop_pending_jobs(session)
            await session.rollback()
            raise
        await flush_jobs(session, queue)
