from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.api.deps import Admin, ReadDb
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from services.api.ratelimit import RateLimited
from shared.audit.repository import AuditRepository
from shared.audit.schemas import AuditFilters, AuditOut
from shared.pagination import page_of

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[RateLimited])


@router.get("", operation_id="audit-list", response_model=page_of(AuditOut),
            responses={**ok("One page of audit entries"), **problem_responses(400, 401, 403, 422, 429)})
async def list_audit(db: ReadDb, _: Admin, params: Annotated[AuditFilters, Depends(QueryModel(AuditFilters, AuditRepository.sorting))]) -> Any:
    """The append-only audit log of access to signal data, newest first (admin)."""
    repo = AuditRepository(db)
    rows, cursor = await repo.list(repo.conditions(params), sort=params.sort, cursor=params.cursor,
                                   limit=params.limit)
    return {"items": rows, "next_cursor": cursor}
