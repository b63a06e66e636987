"""Status engine jobs: one commitment after each write that can change it, everything once a night."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog

from services.worker.registry import SCHEDULES, Schedule, job
from shared.db import session_scope
from shared.status.inputs import Thresholds
from shared.status.runner import recalculate_all as run_all
from shared.status.service import StatusService

log = structlog.get_logger("nakoming.status")


def _as_of(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@job("status.recalculate_commitment")
async def recalculate_commitment(ctx: dict[str, Any], commitment_id: str, as_of: str | None = None) -> dict[str, Any]:
    """Re-evaluate one commitment; idempotent (an unchanged result writes no history), a deleted one is a no-op."""
    thresholds = Thresholds.from_settings(ctx["settings"])
    async with session_scope(ctx["session_factory"]) as session:
        outcome = await StatusService(session, thresholds).recalculate([uuid.UUID(commitment_id)], _as_of(as_of))
    found = bool(outcome.evaluations)
    status = str(next(iter(outcome.evaluations.values())).status) if found else None
    log.info("status_recalculated", commitment_id=commitment_id, found=found, status=status, changed=outcome.changed)
    return {"commitment_id": commitment_id, "found": found, "status": status, "changed": outcome.changed}


@job("status.recalculate_all")
async def recalculate_all(ctx: dict[str, Any], as_of: str | None = None) -> dict[str, Any]:
    """Re-evaluate every commitment (dates move), in batches of NAKOMING_RECALC_BATCH_SIZE."""
    settings = ctx["settings"]
    summary = await run_all(ctx["session_factory"], Thresholds.from_settings(settings), as_of=_as_of(as_of),
                            batch_size=settings.recalc_batch_size)
    log.info("status_recalculated_all", **summary.as_dict())
    return summary.as_dict()


SCHEDULES.append(Schedule("status.recalculate_all", hour=2, minute=15))
