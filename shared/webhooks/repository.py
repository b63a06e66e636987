from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.crud import Repository
from shared.db import UTCDateTime
from shared.pagination import SortField, Sorting
from shared.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookFeedState

D = WebhookDelivery.__table__.c

_RECORD = (
    update(WebhookDelivery.__table__)
    .where(D.id == bindparam("b_id"), D.status == DeliveryStatus.pending.value)
    .values(
        status=bindparam("b_status", type_=String),
        attempts=bindparam("b_attempts", type_=Integer),
        next_attempt_at=bindparam("b_next", type_=UTCDateTime),
        last_attempt_at=bindparam("b_at", type_=UTCDateTime),
        last_status_code=bindparam("b_code", type_=Integer),
        last_error=bindparam("b_error", type_=String),
    )
)


class WebhookRepository(Repository[Webhook]):
    model = Webhook
    resource = "webhook"
    sorting = Sorting(
        fields={"created_at": SortField(Webhook.created_at, "datetime")},
        id_column=Webhook.id,
        default="created_at",
    )

    async def enabled(self) -> list[Webhook]:
        return list((await self.session.execute(select(Webhook).where(Webhook.enabled.is_(True)))).scalars())


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery
    resource = "delivery"
    sorting = Sorting(
        fields={"created_at": SortField(WebhookDelivery.created_at, "datetime")},
        id_column=WebhookDelivery.id,
        default="-created_at",
    )

    async def due(self, webhook_id: uuid.UUID, now: dt.datetime, limit: int) -> list[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.webhook_id == webhook_id,
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def next_due(self, webhook_id: uuid.UUID) -> dt.datetime | None:
        stmt = (
            select(WebhookDelivery.next_attempt_at)
            .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == DeliveryStatus.pending)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar()

    async def webhooks_due(self, now: dt.datetime) -> list[uuid.UUID]:
        """Enabled webhooks with a delivery due (for the sweeper: lost jobs, retries that came due)."""
        stmt = (
            select(WebhookDelivery.webhook_id)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
                Webhook.enabled.is_(True),
            )
            .distinct()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(WebhookDelivery.__table__.insert(), list(rows))

    async def record(self, results: Sequence[dict[str, Any]]) -> None:
        """Attempt outcomes in one statement (rows no longer pending, e.g. a redelivery, are left alone)."""
        if results:
            await self.session.execute(_RECORD, list(results))


class FeedStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> WebhookFeedState:
        stmt = select(WebhookFeedState).where(WebhookFeedState.id == 1).with_for_update()
        state = (await self.session.execute(stmt)).scalar_one_or_none()
        if state is None:
            state = WebhookFeedState(id=1, txid=0, event_id=0)
            self.session.add(state)
        return state
