from __future__ import annotations

from typing import Any

from shared.audit.models import AuditEntry
from shared.audit.schemas import AuditFilters
from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.search import like_pattern


class AuditRepository(Repository[AuditEntry]):
    model = AuditEntry
    resource = "audit entry"
    sorting = Sorting(
        fields={"at": SortField(AuditEntry.at, "datetime")}, id_column=AuditEntry.id, default="-at"
    )

    @staticmethod
    def conditions(filters: AuditFilters) -> list[Any]:
        conds: list[Any] = []
        if filters.action:
            conds.append(AuditEntry.action == filters.action)
        if filters.resource:
            conds.append(AuditEntry.resource == filters.resource)
        if filters.key_id:
            conds.append(AuditEntry.key_id == filters.key_id)
        if filters.since:
            conds.append(AuditEntry.at >= filters.since)
        if filters.until:
            conds.append(AuditEntry.at <= filters.until)
        if filters.record_id:
            # record_ids is a JSON list of strings; a textual match is portable and exact on the quoted uuid.
            from sqlalchemy import String, cast

            conds.append(
                cast(AuditEntry.record_ids, String).like(like_pattern(f'"{filters.record_id}"'), escape="\\")
            )
        return conds
