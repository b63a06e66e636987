"""Webhook subscriptions: who may manage which, what they receive, and the manual deliveries. Never commits.

A key with `write` manages webhooks: a key bound to a party only its party's (others are answered as absent,
404), an unbound (staff) key all of them. A subscription receives the events its creating key could read
(shared/events/access.py): a party's webhook only what that party may read, signal events only when the key
had signals:read.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.service import Principal, Scope
from shared.db import utcnow
from shared.errors import NotFound, ValidationFailed, field_error
from shared.events.access import EventReader
from shared.jobs import defer, keyed
from shared.pagination import Page
from shared.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from shared.webhooks.repository import DeliveryRepository, WebhookRepository
from shared.webhooks.signing import new_secret
from shared.webhooks.targets import TargetRefused, parse

DELIVER_JOB = "webhooks.deliver"
TEST_TYPE = "webhook.test"


def delivery_job(webhook_id: uuid.UUID) -> Any:
    """One delivery job per webhook at a time: it works through that webhook's due deliveries."""
    return keyed(DELIVER_JOB, webhook_id, webhook_id=str(webhook_id))


def reader_of(webhook: Webhook) -> EventReader:
    return EventReader(webhook.party_id, webhook.signals, webhook.party_id is None)


def receives(webhook: Webhook, event: Any) -> bool:
    return (
        (not webhook.event_types or event.type in webhook.event_types)
        and event.at >= webhook.created_at
        and reader_of(webhook).allows(event)
    )


class WebhookService:
    def __init__(self, session: AsyncSession, *, allow_private: bool) -> None:
        self.session = session
        self.allow_private = allow_private
        self.repo = WebhookRepository(session)
        self.deliveries = DeliveryRepository(session)

    def check_url(self, url: str) -> None:
        try:
            parse(url, allow_private=self.allow_private)
        except TargetRefused as exc:
            raise ValidationFailed(
                f"The webhook URL is refused: {exc}.", [field_error(["body", "url"], str(exc), "url")]
            ) from None

    async def create(self, principal: Principal, data: dict[str, Any]) -> tuple[Webhook, str]:
        """The webhook and its secret (returned this once)."""
        self.check_url(data["url"])
        secret = new_secret()
        webhook = Webhook(
            url=data["url"],
            event_types=[str(t) for t in data.get("event_types") or []],
            description=data.get("description"),
            secret=secret,
            enabled=True,
            party_id=principal.party_id,
            signals=principal.has(Scope.signals_read),
            key_id=principal.key_id,
        )
        self.repo.add(webhook)
        await self.repo.flush()
        return webhook, secret

    async def get(self, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
        webhook = await self.repo.get(webhook_id)
        if webhook is None or (principal.party_id is not None and webhook.party_id != principal.party_id):
            raise NotFound(f"No webhook with id {webhook_id}.")
        return webhook

    def conditions(self, principal: Principal, enabled: bool | None) -> list[Any]:
        conds: list[Any] = []
        if principal.party_id is not None:
            conds.append(Webhook.party_id == principal.party_id)
        if enabled is not None:
            conds.append(Webhook.enabled.is_(enabled))
        return conds

    async def update(self, webhook: Webhook, changes: dict[str, Any]) -> Webhook:
        for name in ("url", "event_types", "enabled"):
            if name in changes and changes[name] is None:
                raise ValidationFailed(
                    f"{name} cannot be null.", [field_error(["body", name], "must not be null")]
                )
        if "url" in changes:
            self.check_url(changes["url"])
            webhook.url = changes["url"]
        if "event_types" in changes:
            webhook.event_types = [str(t) for t in changes["event_types"]]
        if "description" in changes:
            webhook.description = changes["description"]
        if "enabled" in changes:
            webhook.enabled = changes["enabled"]
            if webhook.enabled:
                webhook.disabled_reason = None
                defer(self.session, delivery_job(webhook.id))  # what waited while it was off
        await self.repo.flush()
        return webhook

    async def delete(self, webhook: Webhook) -> None:
        await self.repo.delete(webhook)
        await self.repo.flush()

    async def list_deliveries(
        self,
        webhook: Webhook,
        *,
        status: DeliveryStatus | None,
        sort: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[WebhookDelivery]:
        conds: list[Any] = [WebhookDelivery.webhook_id == webhook.id]
        if status is not None:
            conds.append(WebhookDelivery.status == status)
        rows, next_cursor = await self.deliveries.list(conds, sort=sort, cursor=cursor, limit=limit)
        return Page(items=rows, next_cursor=next_cursor)

    async def delivery(self, webhook: Webhook, delivery_id: uuid.UUID) -> WebhookDelivery:
        found = await self.deliveries.get(delivery_id)
        if found is None or found.webhook_id != webhook.id:
            raise NotFound(f"Webhook {webhook.id} has no delivery with id {delivery_id}.")
        return found

    async def send(
        self, webhook: Webhook, *, event_id: int | None, event_type: str, subject: str
    ) -> WebhookDelivery:
        """A new delivery, due now (a redelivery of an event, or a test); sent by the worker after commit."""
        delivery = WebhookDelivery(
            id=uuid.uuid4(),
            webhook_id=webhook.id,
            event_id=event_id,
            event_type=event_type,
            subject=subject,
            status=DeliveryStatus.pending,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        self.deliveries.add(delivery)
        await self.deliveries.flush()
        defer(self.session, delivery_job(webhook.id))
        return delivery
