"""Signal jobs: batch processing (resumable, idempotent) and the nightly retention purge."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from services.worker.registry import SCHEDULES, Schedule, job
from shared.db import session_scope
from shared.signals.batches import process_batch as run_batch
from shared.signals.retention import purge_expired as run_purge


@job("signals.process_batch")
async def process_batch(ctx: dict[str, Any], batch_id: str) -> dict[str, Any]:
    batch = await run_batch(ctx["session_factory"], ctx["settings"], uuid.UUID(batch_id))
    if batch is None:
        return {"batch_id": batch_id, "status": "missing"}
    return {"batch_id": batch_id, "status": str(batch.status), "accepted": batch.accepted,
            "duplicate": batch.duplicate, "rejected": batch.rejected}


@job("signals.purge_expired")
async def purge_expired(ctx: dict[str, Any]) -> dict[str, int]:
    async with session_scope(ctx["session_factory"]) as session:
        return await run_purge(session, dt.datetime.now(dt.UTC).date())


SCHEDULES.append(Schedule(name="signals.purge_expired", hour=3, minute=15))
