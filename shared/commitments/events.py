"""What a write to a commitment or its evidence sets in motion (enqueued after commit)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shared.jobs import defer_job

RECALCULATE_JOB = "status.recalculate_commitment"


def commitment_changed(session: AsyncSession, commitment_id: uuid.UUID | None) -> None:
    if commitment_id is not None:
        defer_job(session, RECALCULATE_JOB, job_id=f"{RECALCULATE_JOB}:{commitment_id}", commitment_id=str(commitment_id))
