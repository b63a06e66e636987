from __future__ import annotations

from typing import Any

from shared.crud import CrudService, Ref, equal_conditions
from shared.parties.models import Party
from shared.recommendations.models import RECOMMENDATION_SEARCH, Recommendation
from shared.recommendations.repository import RecommendationRepository
from shared.recommendations.schemas import RecommendationFilters
from shared.sources.models import Source
from shared.themes.models import Theme


class RecommendationService(CrudService[Recommendation]):
    repository_class = RecommendationRepository
    refs = {
        "addressee_party_id": Ref(Party, "party"),
        "theme_key": Ref(Theme, "theme"),
        "source_id": Ref(Source, "source"),
        "response_source_id": Ref(Source, "source"),
    }

    @staticmethod
    def conditions(filters: RecommendationFilters) -> list[Any]:
        conds = equal_conditions(
            filters,
            Recommendation,
            "addressee_party_id",
            "theme",
            "source_id",
            columns={"theme": "theme_key"},
        )
        if filters.q:
            conds.append(RECOMMENDATION_SEARCH.match(filters.q))
        return conds
