"""Change feed and webhook jobs: fan-out of new events, delivery per webhook, the sweeper, the retention purge."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import structlog

from services.worker.define import SCHEDULES, Schedule, job
from shared.db import session_scope, utcnow
from shared.events.repository import EventRepository
from shared.events.service import FAN_OUT_JOB
from shared.jobs import enqueue_jobs, keyed
from shared.webhooks.delivery import Delivering
from shared.webhooks.delivery import deliver as run_deliver
from shared.webhooks.delivery import fan_out as run_fan_out
from shared.webhooks.repository import DeliveryRepository
from shared.webhooks.service import DELIVER_JOB, delivery_job

log = structlog.get_logger("nakoming.webhooks")
SWEEP_JOB = "webhooks.sweep"
WAIT_FOR_FEED = 30.0
PURGE_JOB = "events.purge"


@job(FAN_OUT_JOB)
async def fan_out(ctx: dict[str, Any]) -> dict[str, int]:
    """New events into deliveries; idempotent (the feed position moves in the same transaction). Events that
    committed but wait for an older transaction are looked for again every half second, for up to WAIT_FOR_FEED
    seconds; after that the sweeper (every minute) takes over."""
    made, deadline = 0, time.monotonic() + WAIT_FOR_FEED
    while True:
        outcome = await run_fan_out(ctx["session_factory"])
        await enqueue_jobs(ctx.get("queue"), outcome.jobs)
        made += outcome.made
        if not outcome.waiting or time.monotonic() > deadline:
            return {"deliveries": made, "waiting": int(outcome.waiting)}
        await asyncio.sleep(0.5)


@job(DELIVER_JOB)
async def deliver(ctx: dict[str, Any], webhook_id: str) -> dict[str, int]:
    """The webhook's due deliveries; keyed by webhook, so one job at a time sends to one receiver."""
    outcome = await run_deliver(ctx["session_factory"], Delivering.of(ctx), uuid.UUID(webhook_id))
    log.info("webhook_delivered", webhook_id=webhook_id, sent=outcome.sent, succeeded=outcome.succeeded)
    return {"sent": outcome.sent, "succeeded": outcome.succeeded}


@job(SWEEP_JOB)
async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Re-enqueue what may have been lost (a killed worker, Redis away) or came due: the fan-out, and the
    delivery job of every enabled webhook with a due delivery."""
    async with session_scope(ctx["session_factory"]) as session:
        due = await DeliveryRepository(session).webhooks_due(utcnow())
    await enqueue_jobs(ctx.get("queue"), [keyed(FAN_OUT_JOB), *(delivery_job(w) for w in due)])
    return {"webhooks": len(due)}


@job(PURGE_JOB)
async def purge(ctx: dict[str, Any]) -> dict[str, int]:
    """Events older than NAKOMING_EVENT_RETENTION_DAYS."""
    before = utcnow() - dt.timedelta(days=ctx["settings"].event_retention_days)
    async with session_scope(ctx["session_factory"]) as session:
        return {"purged": await EventRepository(session).purge(before)}


SCHEDULES.append(Schedule(SWEEP_JOB, every_seconds=60))
SCHEDULES.append(Schedule(PURGE_JOB, hour=3, minute=45))
