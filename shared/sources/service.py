from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.crud import CrudService, Ref, equal_conditions
from shared.parties.models import Party
from shared.sources.models import SOURCE_SEARCH, Source
from shared.sources.repository import SourceRepository
from shared.sources.schemas import SourceFilters


class SourceService(CrudService[Source]):
    repository_class = SourceRepository
    natural_keys = ("key", "tk_document_nummer")
    refs = {"publisher_party_id": Ref(Party, "party")}

    def column_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values = super().column_values(data)
        if values.get("url") is not None:
            values["url"] = str(values["url"])
        return values

    @staticmethod
    def conditions(filters: SourceFilters) -> list[Any]:
        conds = equal_conditions(
            filters, Source, "kind", "publisher_party_id", "dossier_nummer", "tk_document_nummer"
        )
        if filters.q:
            conds.append(SOURCE_SEARCH.match(filters.q))
        return conds
