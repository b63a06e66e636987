"""Turning events into deliveries, and delivering them (worker jobs: services/worker/tasks/webhooks.py).

Deliveries are rows, written before any attempt: a killed worker loses nothing (its job runs again when its
lease lapses, and the sweeper re-enqueues webhooks with due deliveries). Delivery is at least once: a worker
killed after the receiver answered but before the outcome was stored sends that delivery again, with the same
`webhook-id`, which receivers use to drop duplicates.

Payloads are thin ({type, timestamp, data: {event_id, subject}}): the receiver GETs the subject with its own
credentials, so a delivery never carries more than the receiver may read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit.service import SYSTEM, record
from shared.db import session_scope, utcnow
from shared.events.repository import EventRepository, Position
from shared.events.service import Audience, EventType, NewEvent, emit
from shared.jobs import PendingJob
from shared.webhooks import signing
from shared.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from shared.webhooks.repository import DeliveryRepository, FeedStateRepository, WebhookRepository
from shared.webhooks.service import delivery_job, receives
from shared.webhooks.targets import Resolver, TargetRefused, parse, resolve, system_resolver

log = structlog.get_logger("nakoming.webhooks")

FAN_OUT_PAGE = 1000  # events per fan-out transaction
SEND_PAGE = 500  # deliveries per round of attempts
WAIT_IN_JOB = 60.0  # a retry due sooner than this is waited for in the job; later ones are the sweeper's
USER_AGENT = "nakoming-webhooks/1.0"


@dataclass(frozen=True)
class Delivering:
    """How deliveries are made: settings, and the DNS resolver (injectable: tests answer for names offline)."""

    resolver: Resolver
    allow_private: bool
    schedule: Sequence[float]
    concurrency: int = 20
    timeout: float = 10.0

    @classmethod
    def of(cls, ctx: dict[str, Any]) -> Delivering:
        settings = ctx["settings"]
        return cls(
            ctx.get("resolver") or system_resolver,
            settings.webhook_allow_private,
            tuple(settings.webhook_retry_schedule),
            settings.webhook_concurrency,
            settings.webhook_timeout,
        )

    def client(self) -> httpx.AsyncClient:
        """A client per delivery job, pooled for one receiver: httpx scans every pooled connection on each request,
        so one client shared by all webhooks costs more per delivery the more receivers there are (bench/events).
        Redirects are never followed (their target was not checked: shared/webhooks/targets.py)."""
        return httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self.concurrency),
        )

    def retry_delay(self, attempts: int) -> float | None:
        """Seconds until the next try after `attempts` failed ones (None: none left). +-20 % jitter, so
        deliveries that failed together (a receiver down) do not all come back at the same second."""
        if attempts > len(self.schedule):
            return None
        return self.schedule[attempts - 1] * random.uniform(0.8, 1.2)


def message(delivery: WebhookDelivery) -> str:
    return orjson.dumps(
        {
            "type": delivery.event_type,
            "timestamp": delivery.created_at.isoformat(),
            "data": {"event_id": delivery.event_id, "subject": delivery.subject},
        }
    ).decode()


@dataclass
class FanOut:
    made: int = 0
    jobs: list[PendingJob] = field(default_factory=list)
    waiting: bool = False  # committed events not served yet (an older transaction is still open)


async def fan_out(factory: async_sessionmaker[AsyncSession]) -> FanOut:
    """New events (in feed order, after the stored position) into deliveries for the webhooks that receive them.
    Returns the number made, the delivery jobs to enqueue (after the commits), and whether events wait."""
    made, waiting = 0, False
    webhook_ids: set[uuid.UUID] = set()
    while True:
        async with session_scope(factory) as session:
            state = await FeedStateRepository(session).lock()
            position = Position(state.txid, state.event_id)
            hooks = await WebhookRepository(session).enabled()
            if not hooks:  # nobody to deliver to: skip what the feed has served, without reading it
                latest = await EventRepository(session).last_served()
                if latest is not None and latest > position:
                    state.txid, state.event_id = latest
                break
            events = await EventRepository(session).after(position, limit=FAN_OUT_PAGE)
            if not events:
                waiting = await EventRepository(session).waiting_after(position)
                break
            now = utcnow()
            rows: list[dict[str, Any]] = [
                {
                    "id": uuid.uuid4(),
                    "webhook_id": hook.id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "subject": event.subject,
                    "status": DeliveryStatus.pending.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for event in events
                for hook in hooks
                if receives(hook, event)
            ]
            await DeliveryRepository(session).add_many(rows)
            state.txid, state.event_id = events[-1].txid, events[-1].id
            made += len(rows)
            webhook_ids.update(row["webhook_id"] for row in rows)
    return FanOut(made, [delivery_job(w) for w in sorted(webhook_ids)], waiting)


@dataclass
class Attempt:
    delivery_id: uuid.UUID
    attempts: int
    status_code: int | None = None
    error: str | None = None
    ok: bool = False


@dataclass
class Round:
    sent: int = 0
    succeeded: int = 0
    exhausted: list[uuid.UUID] = field(default_factory=list)


async def deliver(factory: async_sessionmaker[AsyncSession], how: Delivering, webhook_id: uuid.UUID) -> Round:
    """Work through the webhook's due deliveries, a page at a time, until none is due (waiting for retries due
    within WAIT_IN_JOB). Retries running out disable the webhook and announce it (`webhook.disabled`)."""
    async with how.client() as client:
        return await _deliver(factory, how, client, webhook_id)


async def _deliver(
    factory: async_sessionmaker[AsyncSession],
    how: Delivering,
    client: httpx.AsyncClient,
    webhook_id: uuid.UUID,
) -> Round:
    total = Round()
    while True:
        async with session_scope(factory) as session:
            webhook = await WebhookRepository(session).get(webhook_id)
            if webhook is None or not webhook.enabled:
                return total
            due = await DeliveryRepository(session).due(webhook_id, utcnow(), SEND_PAGE)
            if not due:
                soonest = await DeliveryRepository(session).next_due(webhook_id)
        if not due:
            wait = (soonest - utcnow()).total_seconds() if soonest is not None else None
            if wait is None or wait > WAIT_IN_JOB:
                return total
            await asyncio.sleep(max(wait, 0.0))
            continue
        attempts = await _attempt_all(how, client, webhook, due)
        await _record(factory, how, webhook, attempts, total)
        if total.exhausted:
            return total


async def _attempt_all(
    how: Delivering, client: httpx.AsyncClient, webhook: Webhook, due: Sequence[WebhookDelivery]
) -> list[Attempt]:
    try:
        target = parse(webhook.url, allow_private=how.allow_private)
        address = await resolve(target, how.resolver, allow_private=how.allow_private)
    except TargetRefused as exc:  # checked once per round: every delivery of the round fails alike
        return [Attempt(d.id, d.attempts + 1, error=f"refused: {exc}") for d in due]
    url = f"{target.scheme}://{target.netloc(address)}{target.path}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    gate = asyncio.Semaphore(how.concurrency)

    async def one(delivery: WebhookDelivery) -> Attempt:
        body = message(delivery)
        headers = {
            **signing.headers(webhook.secret, str(delivery.id), utcnow(), body),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": target.host_header(),
        }
        attempt = Attempt(delivery.id, delivery.attempts + 1)
        async with gate:
            try:
                response = await client.post(url, content=body, headers=headers, extensions=extensions)
            except httpx.HTTPError as exc:
                attempt.error = f"{type(exc).__name__}: {exc}"[:500]
                return attempt
        attempt.status_code = response.status_code
        attempt.ok = 200 <= response.status_code < 300
        if response.is_redirect:
            attempt.error = (
                f"redirect to {response.headers.get('location', '?')[:300]} not followed "
                "(point the webhook at the final URL)"
            )
        elif not attempt.ok:
            attempt.error = f"the receiver answered {response.status_code}"
        return attempt

    return list(await asyncio.gather(*(one(d) for d in due)))


async def _record(
    factory: async_sessionmaker[AsyncSession],
    how: Delivering,
    webhook: Webhook,
    attempts: Sequence[Attempt],
    total: Round,
) -> None:
    now = utcnow()
    rows = []
    for attempt in attempts:
        delay = None if attempt.ok else how.retry_delay(attempt.attempts)
        status = (
            DeliveryStatus.succeeded
            if attempt.ok
            else DeliveryStatus.failed
            if delay is None
            else DeliveryStatus.pending
        )
        rows.append(
            {
                "b_id": attempt.delivery_id,
                "b_status": status.value,
                "b_attempts": attempt.attempts,
                "b_next": None if delay is None else now + dt.timedelta(seconds=delay),
                "b_at": now,
                "b_code": attempt.status_code,
                "b_error": attempt.error,
            }
        )
        total.sent += 1
        total.succeeded += attempt.ok
        if status is DeliveryStatus.failed:
            total.exhausted.append(attempt.delivery_id)
    async with session_scope(factory) as session:
        await DeliveryRepository(session).record(rows)
        if total.exhausted:
            await disable(
                session,
                webhook.id,
                f"delivery {total.exhausted[0]} failed {len(how.schedule) + 1} "
                "times over the whole retry schedule",
            )


async def disable(session: AsyncSession, webhook_id: uuid.UUID, reason: str) -> None:
    webhook = await WebhookRepository(session).get(webhook_id)
    if webhook is None or not webhook.enabled:
        return
    webhook.enabled, webhook.disabled_reason = False, reason[:500]
    await record(
        session,
        SYSTEM,
        "webhooks.disable",
        "webhooks",
        [webhook.id],
        detail={"reason": webhook.disabled_reason},
    )
    await emit(
        session,
        NewEvent(
            EventType.webhook_disabled,
            f"/v1/webhooks/{webhook.id}",
            {"webhook_id": str(webhook.id), "reason": webhook.disabled_reason},
            Audience.party,
            webhook.party_id,
        ),
    )
    log.warning("webhook_disabled", webhook_id=str(webhook.id), reason=reason)
