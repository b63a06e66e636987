from __future__ import annotations

from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.sources.models import Source


class SourceRepository(Repository[Source]):
    model = Source
    resource = "source"
    sorting = Sorting(
        fields={
            "date": SortField(Source.date, "date", nullable=True),
            "title": SortField(Source.title),
            "created_at": SortField(Source.created_at, "datetime"),
        },
        id_column=Source.id,
        default="date",
    )
