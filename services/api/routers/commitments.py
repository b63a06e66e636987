from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from services.api.crud import register_crud
from services.api.deps import ReadDb, Reader
from services.api.errors import problem_responses
from shared.commitments.schemas import CommitmentCreate, CommitmentFilters, CommitmentOut, CommitmentUpdate
from shared.commitments.service import CommitmentService
from shared.pagination import Page

router = APIRouter(prefix="/v1/commitments", tags=["commitments"])

_FIELDS = tuple(CommitmentOut.model_fields)


@router.get("", operation_id="commitments-list", response_model=Page[CommitmentOut],
            responses=problem_responses(400, 401, 403, 422))
async def list_commitments(db: ReadDb, _: Reader, params: Annotated[CommitmentFilters, Query()]) -> Any:
    """List commitments, filtered and sorted, one page at a time."""
    svc = CommitmentService(db)
    rows, cursor = await svc.repo.list_page(  # type: ignore[attr-defined]
        svc.conditions(params), sort=params.sort, cursor=params.cursor, limit=params.limit)
    # Rows come straight from the table in CommitmentOut's shape (tests/api/test_commitments.py
    # checks list items equal GET bodies), so they are serialised without a second validation pass.
    body = {"items": [{name: row[name] for name in _FIELDS} for row in rows], "next_cursor": cursor}
    return Response(orjson.dumps(body, default=str, option=orjson.OPT_UTC_Z), media_type="application/json")


register_crud(router, name="commitments", singular="commitment", service=CommitmentService,
              create_model=CommitmentCreate, update_model=CommitmentUpdate, out_model=CommitmentOut,
              filters_model=CommitmentFilters, to_out=CommitmentOut.from_model, with_list=False)
