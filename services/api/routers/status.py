"""Status engine endpoints on a commitment: recalculate, history, manual override."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.api.crud import CommitmentId
from services.api.deps import Admin, ReadDb, Reader, WriteDb, Writer, actor_of
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.audit.service import jsonable, record
from shared.errors import NotFound, ValidationFailed, field_error
from shared.pagination import page_of
from shared.schemas import Day
from shared.status.inputs import Thresholds
from shared.status.repository import StatusHistoryRepository
from shared.status.schemas import OverrideIn, OverrideOut, StatusHistoryOut, StatusHistoryParams, StatusOut
from shared.status.service import StatusService, today

router = APIRouter(prefix="/v1/commitments", tags=["commitments"])

AsOf = Annotated[
    Day | None,
    Query(
        description="Today (UTC) only: stored results are always as of today. "
        "Any other date: use GET /v1/commitments/{id}/status?as_of=."
    ),
]
PreviewAsOf = Annotated[
    Day | None,
    Query(description="Evaluate as if it were this date (default: today, UTC); nothing is stored."),
]


def _service(db: Any, request: Request) -> StatusService:
    return StatusService(db, Thresholds.from_settings(request.app.state.settings))


@router.post(
    "/{id}/recalculate",
    operation_id="commitments-recalculate",
    response_model=StatusOut,
    responses={**ok("The status, evaluated and stored"), **problem_responses(401, 403, 404, 422)},
)
async def recalculate(
    id: CommitmentId, db: WriteDb, principal: Writer, request: Request, as_of: AsOf = None
) -> Any:
    """Re-evaluate the commitment's status as of today and store the result."""
    if as_of is not None and as_of != today():
        raise ValidationFailed(
            f"Stored statuses are always as of today ({today()}); to see the status as of {as_of} without storing "
            f"it, GET /v1/commitments/{id}/status?as_of={as_of}.",
            [field_error(["query", "as_of"], "only today; use the status preview for other dates", "as_of")],
        )
    result = await _service(db, request).recalculate_one(id)
    # Derived data, but stored: who asked for it is on record like any write.
    await record(
        db,
        actor_of(request, principal),
        "commitments.recalculate",
        "commitments",
        [id],
        detail={"status": jsonable(result.status)},
        commitment_id=id,
    )
    return result


@router.get(
    "/{id}/status",
    operation_id="commitments-status-preview",
    response_model=StatusOut,
    responses={**ok("The status as of the date (not stored)"), **problem_responses(401, 403, 404, 422)},
)
async def preview(
    id: CommitmentId, db: ReadDb, _: Reader, request: Request, as_of: PreviewAsOf = None
) -> Any:
    """The commitment's status as of a date, evaluated now and stored nowhere (the stored status is as of today)."""
    return await _service(db, request).preview(id, as_of or today())


@router.get(
    "/{id}/status-history",
    operation_id="status-history-list",
    response_model=page_of(StatusHistoryOut),
    responses={**ok("One page of status changes"), **problem_responses(400, 401, 403, 404, 422)},
)
async def status_history(
    id: CommitmentId,
    db: ReadDb,
    _: Reader,
    params: Annotated[
        StatusHistoryParams, Depends(QueryModel(StatusHistoryParams, StatusHistoryRepository.sorting))
    ],
) -> Any:
    """The commitment's status changes, newest first: one entry per change of status, schedule or reasons."""
    return await status_history_page(db, id, params)


async def status_history_page(db: Any, id: uuid.UUID, params: StatusHistoryParams) -> dict[str, Any]:
    """The history's read (also the status board's); 404 for an unknown commitment."""
    repo = StatusHistoryRepository(db)
    rows, cursor = await repo.list(
        [repo.model.commitment_id == id], sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    if not rows and params.cursor is None:
        await StatusService(db, Thresholds()).ensure_exists(id)
    return {"items": [StatusHistoryOut.model_validate(r) for r in rows], "next_cursor": cursor}


@router.get(
    "/{id}/status-override",
    operation_id="status-override-get",
    response_model=OverrideOut,
    responses={**ok("The override"), **problem_responses(401, 403, 404, 422)},
)
async def get_override(id: CommitmentId, db: ReadDb, _: Reader) -> Any:
    """The commitment's manual status override, if any (it may have expired)."""
    override = await StatusService(db, Thresholds()).get_override(id)
    if override is None:
        raise NotFound(f"Commitment {id} has no status override.")
    return override


@router.put(
    "/{id}/status-override",
    operation_id="status-override-put",
    response_model=StatusOut,
    responses={**ok("The status with the override applied"), **problem_responses(401, 403, 404, 422)},
)
async def put_override(
    id: CommitmentId, body: OverrideIn, db: WriteDb, principal: Admin, request: Request
) -> Any:
    """Set the status by hand, with a reason; it wins over the rules until it expires and shows as a reason."""
    actor = actor_of(request, principal)
    result = await _service(db, request).set_override(
        id,
        status=str(body.status),
        reason=body.reason,
        expires_at=body.expires_at,
        set_by=f"{actor.name} ({principal.identity})"[:200],
    )
    await record(
        db,
        actor,
        "status_overrides.put",
        "status_overrides",
        [id],
        detail={"new": body.model_dump(mode="json")},
        commitment_id=id,
    )
    return result


@router.delete(
    "/{id}/status-override",
    operation_id="status-override-delete",
    response_model=StatusOut,
    responses={**ok("The computed status, restored"), **problem_responses(401, 403, 404, 422)},
)
async def delete_override(id: CommitmentId, db: WriteDb, principal: Admin, request: Request) -> Any:
    """Remove the manual override; returns the restored computed status."""
    result = await _service(db, request).clear_override(id)
    await record(
        db,
        actor_of(request, principal),
        "status_overrides.delete",
        "status_overrides",
        [id],
        commitment_id=id,
    )
    return result
