from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.crud import register_crud
from services.api.deps import ReadDb, Reader, read_session
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.commitments.counts import commitment_counts
from shared.commitments.repository import CommitmentRepository
from shared.commitments.schemas import (
    CommitmentCountsOut,
    CommitmentCreate,
    CommitmentFilters,
    CommitmentOut,
    CommitmentSelection,
    CommitmentUpdate,
)
from shared.commitments.service import CommitmentService
from shared.pagination import page_of
from shared.pg import RawDatabase

router = APIRouter(prefix="/v1/commitments", tags=["commitments"])


async def commitments_page(source: AsyncSession | RawDatabase, params: CommitmentFilters) -> dict[str, Any]:
    """The list's read (also the status board's): one page under the filters.

    Rows come straight from the table in CommitmentOut's shape (tests/api/test_commitments.py checks list items
    equal GET bodies), so they are serialised without a second validation pass."""
    rows, cursor = await CommitmentRepository.list_page(
        source,
        CommitmentService.conditions(params),
        sort=params.sort,
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": rows, "next_cursor": cursor}


@router.get(
    "",
    operation_id="commitments-list",
    response_model=page_of(CommitmentOut),
    responses={**ok("One page of commitments"), **problem_responses(400, 401, 403, 422)},
)
async def list_commitments(
    request: Request,
    _: Reader,
    params: Annotated[
        CommitmentFilters, Depends(QueryModel(CommitmentFilters, CommitmentRepository.sorting))
    ],
) -> Any:
    """List commitments, filtered and sorted, one page at a time."""
    raw = request.app.state.raw_db
    if raw is not None:  # PostgreSQL: the hot path, without a session (shared/pg.py)
        body = await commitments_page(raw, params)
    else:
        async with read_session(request.app) as db:
            body = await commitments_page(db, params)
    return Response(orjson.dumps(body, default=str, option=orjson.OPT_UTC_Z), media_type="application/json")


# Before the CRUD routes: "/counts" is not an id.
@router.get(
    "/counts",
    operation_id="commitments-counts",
    response_model=CommitmentCountsOut,
    responses={
        **ok("How many commitments match, per status and schedule"),
        **problem_responses(401, 403, 422),
    },
)
async def count_commitments(
    db: ReadDb, _: Reader, params: Annotated[CommitmentSelection, Depends(QueryModel(CommitmentSelection))]
) -> Any:
    """How many commitments match the list's filters, per status and per schedule (no rows)."""
    return await commitment_counts(db, params)


async def _deleting_history(principal: Any, db: Any, obj: Any) -> None:
    """A commitment with status history is part of the record of what was promised: only an admin deletes it."""
    from sqlalchemy import select

    from shared.auth.ownership import ensure_admin
    from shared.status.models import StatusHistory

    if (
        await db.execute(select(StatusHistory.id).where(StatusHistory.commitment_id == obj.id).limit(1))
    ).first():
        ensure_admin(principal, "Deleting a commitment with status history")


reads = register_crud(
    router,
    name="commitments",
    singular="commitment",
    service=CommitmentService,
    create_model=CommitmentCreate,
    update_model=CommitmentUpdate,
    out_model=CommitmentOut,
    filters_model=CommitmentFilters,
    to_out=CommitmentOut.from_model,
    with_list=False,
    check_delete=_deleting_history,
)
