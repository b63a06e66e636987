"""Jobs recorded during a request reach the queue only after the commit, and never after a rollback."""

from __future__ import annotations

from typing import Any

import httpx

from shared.commitments.events import RECALCULATE_JOB
from tests.factories import create_commitment


async def test_write_enqueues_recalculation_after_commit(
    client: httpx.AsyncClient, writer: dict, queue: Any
) -> None:
    seen: list[str] = []

    async def record(ctx: dict, commitment_id: str) -> None:
        seen.append(commitment_id)

    queue.functions[RECALCULATE_JOB] = record
    c = await create_commitment(client, writer)
    await queue.drain()
    assert seen == [c["id"]]

    seen.clear()
    r = await client.patch(f"/v1/commitments/{c['id']}", json={"themes": ["bestaat-niet"]}, headers=writer)
    assert r.status_code == 422
    await queue.drain()
    assert seen == []  # the failed write enqueued nothing


async def test_failing_commit_drops_jobs(session_factory: Any, queue: Any) -> None:
    from shared.jobs import PendingJob, defer_job, drop_pending_jobs, take_pending_jobs

    async with session_factory() as s:
        defer_job(s, "a.b", job_id="x", n=1)
        defer_job(s, "a.b", job_id="x", n=1)  # same job twice in one unit of work: once
        assert take_pending_jobs(s) == [PendingJob("a.b", {"n": 1}, "x")]
        defer_job(s, "a.b", n=2)
        drop_pending_jobs(s)
        assert take_pending_jobs(s) == []
