"""A commitment's fulfilment records: the claim (PUT), its review by the party it was made to, and withdrawal."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from services.api.crud import CommitmentId, etag_of
from services.api.deps import ReadDb, Reader, WriteDb, Writer, actor_of
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.audit.service import jsonable
from shared.audit.service import record as audit
from shared.auth.ownership import ensure_may_write
from shared.auth.service import Scope
from shared.fulfilment.models import Fulfilment
from shared.fulfilment.repository import FulfilmentRepository
from shared.fulfilment.schemas import FulfilmentIn, FulfilmentOut, ReviewIn
from shared.fulfilment.service import FulfilmentService, period_end
from shared.pagination import page_of
from shared.schemas import Day, ListParams

router = APIRouter(prefix="/v1/commitments", tags=["fulfilment"])

PeriodQuery = Annotated[
    Day | None,
    Query(
        alias="period",
        description="Recurring commitments: the start date of the period (default: the current one).",
    ),
]


async def _out(service: FulfilmentService, record: Fulfilment) -> FulfilmentOut:
    out = FulfilmentOut.model_validate(record)
    out.period_end = period_end(await service.commitment(record.commitment_id), record)
    return out


@router.put(
    "/{id}/fulfilment",
    operation_id="fulfilment-put",
    response_model=FulfilmentOut,
    response_model_by_alias=True,
    responses={
        **ok("The fulfilment record, updated", "ETag"),
        201: {"model": FulfilmentOut, **ok("The fulfilment record, created", "ETag")[200]},
        **problem_responses(401, 403, 404, 422),
    },
)
async def put_fulfilment(
    id: CommitmentId, body: FulfilmentIn, db: WriteDb, principal: Writer, response: Response, request: Request
) -> Any:
    """Record that the commitment (or one period of a recurring one) was fulfilled, with its evidence."""
    await FulfilmentService(db).commitment(id)  # 404 first
    await ensure_may_write(principal, db, "fulfilments", "fulfilment record", {"commitment_id": id})
    service = FulfilmentService(db)
    actor = actor_of(request, principal)
    record, created = await service.put(id, body.model_dump(), actor)
    await audit(
        db,
        actor,
        "fulfilments.put",
        "fulfilments",
        [record.id],
        detail={"commitment_id": str(id), "new": body.model_dump(mode="json")},
        commitment_id=id,
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = etag_of(record)
    return await _out(service, record)


@router.get(
    "/{id}/fulfilment",
    operation_id="fulfilment-get",
    response_model=FulfilmentOut,
    response_model_by_alias=True,
    responses={**ok("The fulfilment record", "ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_fulfilment(
    id: CommitmentId, db: ReadDb, _: Reader, response: Response, period: PeriodQuery = None
) -> Any:
    """The commitment's fulfilment record (for a recurring one: of a period), with its review."""
    service = FulfilmentService(db)
    record = await service.get(id, period)
    response.headers["ETag"] = etag_of(record)
    return await _out(service, record)


@router.get(
    "/{id}/fulfilments",
    operation_id="fulfilments-list",
    response_model=page_of(FulfilmentOut),
    response_model_by_alias=True,
    responses={**ok("One page of fulfilment records"), **problem_responses(400, 401, 403, 404, 422)},
)
async def list_fulfilments(
    id: CommitmentId,
    db: ReadDb,
    _: Reader,
    params: Annotated[ListParams, Depends(QueryModel(ListParams, FulfilmentRepository.sorting))],
) -> Any:
    """Every fulfilment record of the commitment, latest period first."""
    return await fulfilments_page(db, id, params)


async def fulfilments_page(db: Any, id: uuid.UUID, params: ListParams) -> dict[str, Any]:
    """The list's read (also the status board's); 404 for an unknown commitment."""
    service = FulfilmentService(db)
    page = await service.list(id, sort=params.sort, cursor=params.cursor, limit=params.limit)
    return {"items": [await _out(service, r) for r in page.items], "next_cursor": page.next_cursor}


@router.delete(
    "/{id}/fulfilment",
    operation_id="fulfilment-delete",
    status_code=204,
    response_class=Response,
    responses={**ok("Withdrawn", status=204), **problem_responses(401, 403, 404, 422)},
)
async def delete_fulfilment(
    id: CommitmentId, db: WriteDb, principal: Writer, request: Request, period: PeriodQuery = None
) -> Response:
    """Withdraw the fulfilment record; the commitment is judged again without it."""
    await FulfilmentService(db).commitment(id)  # 404 first
    await ensure_may_write(principal, db, "fulfilments", "fulfilment record", {"commitment_id": id})
    await FulfilmentService(db).delete(id, period)
    await audit(
        db,
        actor_of(request, principal),
        "fulfilments.delete",
        "fulfilments",
        [id],
        detail={"commitment_id": str(id), "period": jsonable(period)},
        commitment_id=id,
    )
    return Response(status_code=204)


@router.post(
    "/{id}/fulfilment/review",
    operation_id="fulfilment-review",
    response_model=FulfilmentOut,
    response_model_by_alias=True,
    responses={**ok("The fulfilment record with its review"), **problem_responses(401, 403, 404, 422)},
)
async def review_fulfilment(
    id: CommitmentId,
    body: ReviewIn,
    db: WriteDb,
    principal: Writer,
    request: Request,
    period: PeriodQuery = None,
) -> Any:
    """Accept or reject the claim: the key of the party the commitment was made to, or an admin key."""
    service = FulfilmentService(db)
    actor = actor_of(request, principal)
    record = await service.review(
        id,
        period,
        decision=str(body.decision),
        note=body.note,
        reviewer=actor,
        admin=principal.has(Scope.admin),
    )
    await audit(
        db,
        actor,
        "fulfilments.review",
        "fulfilments",
        [record.id],
        detail={"commitment_id": str(id), "new": body.model_dump(mode="json")},
        commitment_id=id,
    )
    return await _out(service, record)
