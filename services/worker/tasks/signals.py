"""Signal jobs: batch processing (resumable, idempotent) and the nightly retention purge."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from services.worker.define import SCHEDULES, Schedule, job
from shared.db import session_scope
from shared.jobs import enqueue_jobs, keyed
from shared.signals.batches import process_batch as run_batch
from shared.signals.batches import processing, stalled_batches
from shared.signals.retention import purge_expired as run_purge
from shared.signals.rollup import refresh

REFRESH_JOB = "signals.refresh_counts"


@job("signals.process_batch")
async def process_batch(ctx: dict[str, Any], batch_id: str) -> dict[str, Any]:
    batch = await run_batch(
        ctx["session_factory"], ctx["settings"], uuid.UUID(batch_id), queue=ctx.get("queue")
    )
    if batch is not None and batch.accepted and ctx.get("queue") is not None:
        await enqueue_jobs(ctx["queue"], [keyed(REFRESH_JOB)])
    if batch is None:
        return {"batch_id": batch_id, "status": "missing"}
    return {
        "batch_id": batch_id,
        "status": str(batch.status),
        "accepted": batch.accepted,
        "duplicate": batch.duplicate,
        "rejected": batch.rejected,
    }


@job("signals.purge_expired")
async def purge_expired(ctx: dict[str, Any]) -> dict[str, int]:
    async with session_scope(ctx["session_factory"]) as session:
        return await run_purge(session, dt.datetime.now(dt.UTC).date())


@job("signals.resume_batches")
async def resume_batches(ctx: dict[str, Any]) -> dict[str, int]:
    """Re-enqueue batches whose job was lost; processing resumes at the batch's committed cursor."""
    async with session_scope(ctx["session_factory"]) as session:
        stalled = await stalled_batches(session)
    await enqueue_jobs(ctx["queue"], [processing(batch_id) for batch_id in stalled])
    return {"resumed": len(stalled)}


@job(REFRESH_JOB)
async def refresh_counts(ctx: dict[str, Any]) -> dict[str, int]:
    async with session_scope(ctx["session_factory"]) as session:
        return {"months": await refresh(session)}


SCHEDULES.append(Schedule(name="signals.purge_expired", hour=3, minute=15))
SCHEDULES.append(Schedule(name=REFRESH_JOB, every_seconds=60))
SCHEDULES.append(Schedule(name="signals.resume_batches", every_seconds=300))
