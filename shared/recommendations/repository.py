from __future__ import annotations

from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.recommendations.models import Recommendation


class RecommendationRepository(Repository[Recommendation]):
    model = Recommendation
    resource = "recommendation"
    sorting = Sorting(
        fields={
            "title": SortField(Recommendation.title),
            "created_at": SortField(Recommendation.created_at, "datetime"),
            "theme": SortField(Recommendation.theme_key, "str", nullable=True),
        },
        id_column=Recommendation.id,
        default="created_at",
    )
