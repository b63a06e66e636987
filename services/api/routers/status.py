"""Status engine endpoints on a commitment: recalculate, history, manual override."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.api.deps import ReadDb, Reader, WriteDb, Writer
from services.api.errors import problem_responses
from services.api.query import QueryModel
from shared.errors import NotFound, ValidationFailed, field_error
from shared.pagination import Page
from shared.status.inputs import Thresholds
from shared.status.repository import StatusHistoryRepository
from shared.status.schemas import OverrideIn, OverrideOut, StatusHistoryOut, StatusHistoryParams, StatusOut
from shared.status.service import StatusService, today

router = APIRouter(prefix="/v1/commitments", tags=["commitments"])

AsOf = Annotated[dt.date | None, Query(description="Today (UTC) only: stored results are always as of today. "
                                                   "Any other date: use GET /v1/commitments/{id}/status?as_of=.")]
PreviewAsOf = Annotated[dt.date | None, Query(description="Evaluate as if it were this date (default: today, UTC); "
                                                          "nothing is stored.")]


def _service(db: Any, request: Request) -> StatusService:
    return StatusService(db, Thresholds.from_settings(request.app.state.settings))


@router.post("/{id}/recalculate", operation_id="commitments-recalculate", response_model=StatusOut,
             responses=problem_responses(401, 403, 404, 422))
async def recalculate(id: uuid.UUID, db: WriteDb, _: Writer, request: Request, as_of: AsOf = None) -> Any:
    """Re-evaluate the commitment's status as of today and store the result."""
    if as_of is not None and as_of != today():
        raise ValidationFailed(
            f"Stored statuses are always as of today ({today()}); to see the status as of {as_of} without storing "
            f"it, GET /v1/commitments/{id}/status?as_of={as_of}.",
            [field_error(["query", "as_of"], "only today; use the status preview for other dates", "as_of")])
    return await _service(db, request).recalculate_one(id)


@router.get("/{id}/status", operation_id="commitments-status-preview", response_model=StatusOut,
            responses=problem_responses(401, 403, 404, 422))
async def preview(id: uuid.UUID, db: ReadDb, _: Reader, request: Request, as_of: PreviewAsOf = None) -> Any:
    """The commitment's status as of a date, evaluated now and stored nowhere (the stored status is as of today)."""
    return await _service(db, request).preview(id, as_of or today())


@router.get("/{id}/status-history", operation_id="status-history-list", response_model=Page[StatusHistoryOut],
            responses=problem_responses(400, 401, 403, 404, 422))
async def status_history(id: uuid.UUID, db: ReadDb, _: Reader,
                         params: Annotated[StatusHistoryParams, Depends(QueryModel(StatusHistoryParams))]) -> Any:
    """The commitment's status changes, newest first: one entry per change of status, schedule or reasons."""
    return await status_history_page(db, id, params)


async def status_history_page(db: Any, id: uuid.UUID, params: StatusHistoryParams) -> dict[str, Any]:
    """The history's read (also the status board's); 404 for an unknown commitment."""
    repo = StatusHistoryRepository(db)
    rows, cursor = await repo.list([repo.model.commitment_id == id], sort=params.sort, cursor=params.cursor,
                                   limit=params.limit)
    if not rows and params.cursor is None:
        await StatusService(db, Thresholds()).ensure_exists(id)
    return {"items": [StatusHistoryOut.model_validate(r) for r in rows], "next_cursor": cursor}


@router.get("/{id}/status-override", operation_id="status-override-get", response_model=OverrideOut,
            responses=problem_responses(401, 403, 404, 422))
async def get_override(id: uuid.UUID, db: ReadDb, _: Reader) -> Any:
    """The commitment's manual status override, if any (it may have expired)."""
    override = await StatusService(db, Thresholds()).get_override(id)
    if override is None:
        raise NotFound(f"Commitment {id} has no status override.")
    return override


@router.put("/{id}/status-override", operation_id="status-override-put", response_model=StatusOut,
            responses=problem_responses(401, 403, 404, 422))
async def put_override(id: uuid.UUID, body: OverrideIn, db: WriteDb, principal: Writer, request: Request) -> Any:
    """Set the status by hand, with a reason; it wins over the rules until it expires and shows as a reason."""
    return await _service(db, request).set_override(
        id, status=str(body.status), reason=body.reason, expires_at=body.expires_at,
        set_by=f"{principal.name} ({principal.key_id})")


@router.delete("/{id}/status-override", operation_id="status-override-delete", response_model=StatusOut,
               responses=problem_responses(401, 403, 404, 422))
async def delete_override(id: uuid.UUID, db: WriteDb, _: Writer, request: Request) -> Any:
    """Remove the manual override; returns the restored computed status."""
    return await _service(db, request).clear_override(id)
