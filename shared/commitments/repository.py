from __future__ import annotations

from shared.commitments.models import Commitment
from shared.crud import Repository
from shared.pagination import SortField, Sorting


class CommitmentRepository(Repository[Commitment]):
    model = Commitment
    resource = "commitment"
    sorting = Sorting(
        fields={
            "created_at": SortField(Commitment.created_at, "datetime"),
            "updated_at": SortField(Commitment.updated_at, "datetime"),
            "due_date": SortField(Commitment.due_date, "date", nullable=True),
            "title": SortField(Commitment.title),
        },
        id_column=Commitment.id,
        default="created_at",
    )
