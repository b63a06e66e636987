from __future__ import annotations

from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.status.models import StatusHistory


class StatusHistoryRepository(Repository[StatusHistory]):
    model = StatusHistory
    resource = "status history entry"
    sorting = Sorting(
        fields={"evaluated_at": SortField(StatusHistory.evaluated_at, "datetime")},
        id_column=StatusHistory.id,
        default="-evaluated_at",
    )
