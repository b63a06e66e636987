"""Webhook subscriptions (keys with write; a party's keys manage their party's) and their deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from services.api.crud import IfMatch, check_if_match, etag_of
from services.api.deps import ReadDb, WriteDb, Writer, actor_of
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.audit.service import changed, jsonable, record
from shared.auth.ownership import values_of
from shared.pagination import page_of
from shared.webhooks.repository import DeliveryRepository, WebhookRepository
from shared.webhooks.schemas import (
    DeliveryFilters,
    DeliveryOut,
    WebhookCreated,
    WebhookFilters,
    WebhookIn,
    WebhookOut,
    WebhookUpdate,
)
from shared.webhooks.service import TEST_TYPE, WebhookService

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
WebhookId = Annotated[uuid.UUID, Path(description="The webhook's id.")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id.")]


def _service(request: Request, db: Any) -> WebhookService:
    return WebhookService(db, allow_private=request.app.state.settings.webhook_allow_private)


def _audited(webhook: Any) -> dict[str, Any]:
    return jsonable({k: v for k, v in values_of(webhook).items() if k != "secret"})


@router.post(
    "",
    operation_id="webhooks-create",
    response_model=WebhookCreated,
    status_code=201,
    responses={
        **ok("The webhook, with its signing secret (shown only now)", "Location", "ETag", status=201),
        **problem_responses(400, 401, 403, 422),
    },
)
async def create_webhook(
    body: WebhookIn, db: WriteDb, principal: Writer, request: Request, response: Response
) -> Any:
    """Subscribe a URL to event types; deliveries are signed per Standard Webhooks with the returned secret."""
    webhook, secret = await _service(request, db).create(principal, body.model_dump())
    await record(
        db,
        actor_of(request, principal),
        "webhooks.create",
        "webhooks",
        [webhook.id],
        detail={"new": _audited(webhook)},
    )
    response.headers["Location"] = f"{router.prefix}/{webhook.id}"
    response.headers["ETag"] = etag_of(webhook)
    return WebhookCreated.model_validate(
        {**WebhookOut.model_validate(webhook).model_dump(), "secret": secret}
    )


@router.get(
    "",
    operation_id="webhooks-list",
    response_model=page_of(WebhookOut),
    responses={**ok("One page of webhooks"), **problem_responses(400, 401, 403, 422)},
)
async def list_webhooks(
    db: ReadDb,
    principal: Writer,
    request: Request,
    params: Annotated[WebhookFilters, Depends(QueryModel(WebhookFilters, WebhookRepository.sorting))],
) -> Any:
    """The webhooks this key manages (its party's; all for a staff key)."""
    service = _service(request, db)
    rows, cursor = await service.repo.list(
        service.conditions(principal, params.enabled),
        sort=params.sort,
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [WebhookOut.model_validate(r) for r in rows], "next_cursor": cursor}


@router.get(
    "/{id}",
    operation_id="webhooks-get",
    response_model=WebhookOut,
    responses={**ok("The webhook (without its secret)", "ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_webhook(
    id: WebhookId, db: ReadDb, principal: Writer, request: Request, response: Response
) -> Any:
    """One webhook, with its ETag for conditional writes."""
    webhook = await _service(request, db).get(principal, id)
    response.headers["ETag"] = etag_of(webhook)
    return WebhookOut.model_validate(webhook)


@router.patch(
    "/{id}",
    operation_id="webhooks-update",
    response_model=WebhookOut,
    responses={**ok("The webhook, updated", "ETag"), **problem_responses(400, 401, 403, 404, 409, 412, 422)},
)
async def update_webhook(
    id: WebhookId,
    body: WebhookUpdate,
    db: WriteDb,
    principal: Writer,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    """Change the URL, event types or description; `enabled` pauses or resumes deliveries."""
    service = _service(request, db)
    webhook = await service.get(principal, id)
    check_if_match(webhook, if_match)
    before = _audited(webhook)
    webhook = await service.update(webhook, body.model_dump(exclude_unset=True))
    await record(
        db,
        actor_of(request, principal),
        "webhooks.update",
        "webhooks",
        [id],
        detail=changed(before, _audited(webhook)),
    )
    response.headers["ETag"] = etag_of(webhook)
    return WebhookOut.model_validate(webhook)


@router.delete(
    "/{id}",
    operation_id="webhooks-delete",
    status_code=204,
    response_class=Response,
    responses={
        **ok("Deleted, with its deliveries", status=204),
        **problem_responses(401, 403, 404, 409, 412),
    },
)
async def delete_webhook(
    id: WebhookId, db: WriteDb, principal: Writer, request: Request, if_match: IfMatch = None
) -> Response:
    """Stop and remove a webhook (pending deliveries are dropped)."""
    service = _service(request, db)
    webhook = await service.get(principal, id)
    check_if_match(webhook, if_match)
    old = _audited(webhook)
    await service.delete(webhook)
    await record(db, actor_of(request, principal), "webhooks.delete", "webhooks", [id], detail={"old": old})
    return Response(status_code=204)


@router.get(
    "/{id}/deliveries",
    operation_id="webhook-deliveries-list",
    response_model=page_of(DeliveryOut),
    responses={
        **ok("One page of the webhook's deliveries, newest first"),
        **problem_responses(400, 401, 403, 404, 422),
    },
)
async def list_deliveries(
    id: WebhookId,
    db: ReadDb,
    principal: Writer,
    request: Request,
    params: Annotated[DeliveryFilters, Depends(QueryModel(DeliveryFilters, DeliveryRepository.sorting))],
) -> Any:
    """Deliveries with their attempts, last answer and next try."""
    service = _service(request, db)
    page = await service.list_deliveries(
        await service.get(principal, id),
        status=params.status,
        sort=params.sort,
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [DeliveryOut.model_validate(d) for d in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/{id}/deliveries/{delivery_id}/redeliver",
    operation_id="webhook-deliveries-redeliver",
    response_model=DeliveryOut,
    status_code=202,
    responses={**ok("The new delivery, queued", status=202), **problem_responses(401, 403, 404, 422)},
)
async def redeliver(
    id: WebhookId, delivery_id: DeliveryId, db: WriteDb, principal: Writer, request: Request
) -> Any:
    """Send a delivery's event again, as a new delivery (with its own webhook-id), whatever became of it."""
    service = _service(request, db)
    webhook = await service.get(principal, id)
    old = await service.delivery(webhook, delivery_id)
    new = await service.send(webhook, event_id=old.event_id, event_type=old.event_type, subject=old.subject)
    await record(
        db,
        actor_of(request, principal),
        "webhooks.redeliver",
        "webhooks",
        [id],
        detail={"delivery_id": str(delivery_id), "new_delivery_id": str(new.id)},
    )
    return DeliveryOut.model_validate(new)


@router.post(
    "/{id}/test",
    operation_id="webhooks-test",
    response_model=DeliveryOut,
    status_code=202,
    responses={**ok("The test delivery, queued", status=202), **problem_responses(401, 403, 404, 422)},
)
async def test_webhook(id: WebhookId, db: WriteDb, principal: Writer, request: Request) -> Any:
    """Send a signed `webhook.test` delivery (about the webhook itself) to check the receiver."""
    service = _service(request, db)
    webhook = await service.get(principal, id)
    delivery = await service.send(
        webhook, event_id=None, event_type=TEST_TYPE, subject=f"{router.prefix}/{id}"
    )
    await record(
        db,
        actor_of(request, principal),
        "webhooks.test",
        "webhooks",
        [id],
        detail={"delivery_id": str(delivery.id)},
    )
    return DeliveryOut.model_validate(delivery)
