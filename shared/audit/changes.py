"""A commitment's history of edits (GET /v1/commitments/{id}/changes): which commitment a write belongs to, stored
with its audit entry so that the history is one indexed read, also after the record itself is deleted."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.milestones.models import Milestone
from shared.milestones.service import owning_commitment_id, parent_commitment_id


async def commitment_of(session: AsyncSession, resource: str, values: Mapping[str, Any]) -> uuid.UUID | None:
    """The commitment a record of `resource` with these values belongs to (None: none, e.g. an action on a
    recommendation). Read before a delete, while the record and its parents still exist."""
    if resource == "commitments":
        return values.get("id")
    if resource in ("actions", "fulfilments"):
        return values.get("commitment_id")
    if resource == "milestones":
        return await parent_commitment_id(session, values.get("commitment_id"), values.get("action_id"))
    if resource == "measurements":
        milestone = (
            await session.execute(select(Milestone).where(Milestone.id == values.get("milestone_id")))
        ).scalar()
        return await owning_commitment_id(session, milestone) if milestone is not None else None
    return None
