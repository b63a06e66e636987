from __future__ import annotations

from typing import Any

from shared.crud import CrudService, Ref, text_filter
from shared.parties.models import Party
from shared.sources.models import Source
from shared.sources.repository import SourceRepository
from shared.sources.schemas import SourceFilters


class SourceService(CrudService[Source]):
    repository_class = SourceRepository
    natural_keys = ("key", "tk_document_nummer")
    refs = {"publisher_party_id": Ref(Party, "party")}

    def column_values(self, data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        values = super().column_values(data)
        if values.get("url") is not None:
            values["url"] = str(values["url"])
        return values

    @staticmethod
    def conditions(filters: SourceFilters) -> list[Any]:
        conds: list[Any] = []
        if filters.kind:
            conds.append(Source.kind == filters.kind)
        if filters.publisher_party_id:
            conds.append(Source.publisher_party_id == filters.publisher_party_id)
        if filters.dossier_nummer:
            conds.append(Source.dossier_nummer == filters.dossier_nummer)
        if filters.tk_document_nummer:
            conds.append(Source.tk_document_nummer == filters.tk_document_nummer)
        if filters.q:
            conds.append(text_filter(filters.q, Source.title))
        return conds
