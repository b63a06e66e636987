from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.api.crud import CommitmentId
from services.api.deps import Admin, ReadDb, Reader
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from services.api.ratelimit import RateLimited
from shared.audit.models import AuditEntry
from shared.audit.repository import AuditRepository
from shared.audit.schemas import AuditFilters, AuditOut, ChangeOut
from shared.commitments.service import CommitmentService
from shared.pagination import page_of
from shared.schemas import ListParams

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[RateLimited])


@router.get(
    "",
    operation_id="audit-list",
    response_model=page_of(AuditOut),
    responses={**ok("One page of audit entries"), **problem_responses(400, 401, 403, 422, 429)},
)
async def list_audit(
    db: ReadDb,
    _: Admin,
    params: Annotated[AuditFilters, Depends(QueryModel(AuditFilters, AuditRepository.sorting))],
) -> Any:
    """The append-only audit log of access to signal data, newest first (admin)."""
    repo = AuditRepository(db)
    rows, cursor = await repo.list(
        repo.conditions(params), sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": rows, "next_cursor": cursor}


changes = APIRouter(prefix="/v1/commitments", tags=["commitments"], dependencies=[RateLimited])


@changes.get(
    "/{id}/changes",
    operation_id="commitments-changes",
    response_model=page_of(ChangeOut),
    responses={**ok("One page of the commitment's edits"), **problem_responses(400, 401, 403, 404, 422, 429)},
)
async def list_changes(
    id: CommitmentId,
    db: ReadDb,
    _: Reader,
    params: Annotated[ListParams, Depends(QueryModel(ListParams, AuditRepository.sorting))],
) -> Any:
    """The commitment's history of edits (its own, its actions', milestones', measurements' and fulfilment's), newest first."""
    await CommitmentService(db).get(id)  # 404 for an unknown commitment; readable by whoever may read it
    repo = AuditRepository(db)
    rows, cursor = await repo.list(
        [AuditEntry.commitment_id == id], sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": [ChangeOut.from_entry(row) for row in rows], "next_cursor": cursor}
