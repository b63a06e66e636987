"""Status engine jobs: one commitment after each write that can change it, everything once a night."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from services.worker.define import SCHEDULES, Schedule, job
from shared.commitments.events import RECALCULATE_JOB, recalculation
from shared.db import session_scope
from shared.events.service import FAN_OUT_JOB
from shared.jobs import enqueue_jobs, keyed, unit_of_work
from shared.status import fanout
from shared.status.concerned import SWEEP, sweep
from shared.status.fanout import RUN_JOB
from shared.status.inputs import Thresholds
from shared.status.runner import recalculate_all as run_all
from shared.status.service import StatusService

log = structlog.get_logger("nakoming.status")


@job(RECALCULATE_JOB)
async def recalculate_commitment(ctx: dict[str, Any], commitment_id: str) -> dict[str, Any]:
    """Re-evaluate one commitment as of today; idempotent (an unchanged result writes no history), a deleted one
    is a no-op. Stored results are always as of today: a past date is a preview, never a job."""
    thresholds = Thresholds.from_settings(ctx["settings"])
    # A unit of work: the jobs its events set in motion (the webhook fan-out) go out after its commit.
    async with unit_of_work(ctx["session_factory"], ctx.get("queue")) as session:
        outcome = await StatusService(session, thresholds).recalculate([uuid.UUID(commitment_id)])
    found = bool(outcome.evaluations)
    status = str(next(iter(outcome.evaluations.values())).status) if found else None
    log.info(
        "status_recalculated",
        commitment_id=commitment_id,
        found=found,
        status=status,
        changed=outcome.changed,
    )
    return {"commitment_id": commitment_id, "found": found, "status": status, "changed": outcome.changed}


@job(RUN_JOB)
async def recalculate_all(ctx: dict[str, Any]) -> dict[str, Any]:
    """Re-evaluate every commitment as of today (dates move). With a worker cluster (Redis) the run is spread:
    one job per range of NAKOMING_RECALC_BATCH_SIZE commitments, on whichever worker is free; in-process (the
    embedded default, one process anyway) it runs here, range after range."""
    settings = ctx["settings"]
    if ctx.get("redis") is not None:
        started = await fanout.start_run(
            ctx["redis"], ctx["session_factory"], ctx.get("queue"), settings.recalc_batch_size
        )
        log.info("status_recalculation_spread", **started)
        return started
    summary = await run_all(
        ctx["session_factory"], Thresholds.from_settings(settings), batch_size=settings.recalc_batch_size
    )
    if summary.changed or summary.milestones_changed:  # the batches' events, to their webhooks
        await enqueue_jobs(ctx.get("queue"), [keyed(FAN_OUT_JOB)])
    log.info("status_recalculated_all", **summary.as_dict())
    return summary.as_dict()


# At most two ranges at once per worker: one evaluating on this process's core while the other reads or writes
# in the database, and the rest left in the queue for the other workers (arq would otherwise let the first
# worker to poll take them all).
@job(fanout.RANGE_JOB, per_worker=2)
async def recalculate_range(ctx: dict[str, Any], **params: Any) -> dict[str, Any]:
    """One range of a spread run; closes the run when it is the last one done."""
    result = await fanout.run_range(
        ctx["redis"],
        ctx["session_factory"],
        ctx.get("queue"),
        Thresholds.from_settings(ctx["settings"]),
        ctx,
        **params,
    )
    log.info("status_range_recalculated", **result)
    return result


@job(fanout.CLOSE_JOB)
async def close_recalculation(ctx: dict[str, Any], run: str) -> dict[str, Any] | None:
    """Roll up the recommendations and record the run, once every range is done (idempotent)."""
    closed = await fanout.close_run(
        ctx["redis"], ctx["session_factory"], Thresholds.from_settings(ctx["settings"]), run
    )
    if closed is not None:
        log.info("status_recalculated_all", **closed)
    return closed


@job(SWEEP)
async def recalculate_signal_concerned(ctx: dict[str, Any]) -> dict[str, int]:
    """Recalculate the commitments that client signals received since the last sweep can change (signals about
    their owner or a subject party on a shared theme, or linked to them); intake itself stays one statement."""
    async with session_scope(ctx["session_factory"]) as session:
        ids = await sweep(session)
    await enqueue_jobs(ctx.get("queue"), [recalculation(cid) for cid in ids])
    return {"commitments": len(ids)}


SCHEDULES.append(Schedule(RUN_JOB, hour=2, minute=15))
SCHEDULES.append(Schedule(SWEEP, every_seconds=60))
