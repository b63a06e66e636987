"""What a write to a commitment or its evidence sets in motion (enqueued after commit)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.models import commitment_recommendations
from shared.jobs import PendingJob, defer, keyed

RECALCULATE_JOB = "status.recalculate_commitment"


def recalculation(commitment_id: uuid.UUID) -> PendingJob:
    """The status recalculation of one commitment, keyed by it: repeats collapse while one is queued, and a
    request made while it runs makes it run again (shared/jobs.py)."""
    return keyed(RECALCULATE_JOB, commitment_id, commitment_id=str(commitment_id))


def commitment_changed(session: AsyncSession, commitment_id: uuid.UUID | None) -> None:
    if commitment_id is not None:
        defer(session, recalculation(commitment_id))


async def recommendation_changed(session: AsyncSession, recommendation_id: uuid.UUID | None) -> None:
    """Evidence of a recommendation changed (an action on it): recalculate the commitments linked to it; their
    recalculation also rolls the recommendation's status up."""
    if recommendation_id is None:
        return
    cr = commitment_recommendations.c
    for commitment_id in (
        await session.execute(
            select(cr.commitment_id)
            .where(cr.recommendation_id == recommendation_id)
            .order_by(cr.commitment_id)
        )
    ).scalars():
        commitment_changed(session, commitment_id)
