from __future__ import annotations

from typing import Any

from shared.crud import CrudService, equal_conditions
from shared.parties.models import PARTY_SEARCH, Party
from shared.parties.repository import PartyRepository
from shared.parties.schemas import PartyFilters


class PartyService(CrudService[Party]):
    repository_class = PartyRepository
    natural_keys = ("key", "agb_code", "zorgkantoor_code", "kvk_number")

    @staticmethod
    def conditions(filters: PartyFilters) -> list[Any]:
        conds = equal_conditions(filters, Party, "kind", "agb_code", "zorgkantoor_code")
        if filters.q:
            conds.append(PARTY_SEARCH.match(filters.q))
        return conds
