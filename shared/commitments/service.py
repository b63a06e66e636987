from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from shared.commitments.models import Commitment, commitment_recommendations, commitment_themes
from shared.commitments.repository import CommitmentRepository
from shared.commitments.events import commitment_changed
from shared.commitments.schemas import CommitmentFilters
from shared.crud import CrudService, Ref, date_range, equal_conditions, text_filter
from shared.errors import ValidationFailed, field_error
from shared.parties.models import Party
from shared.recommendations.models import Recommendation
from shared.sources.models import Source
from shared.themes.service import ThemeService


class CommitmentService(CrudService[Commitment]):
    repository_class = CommitmentRepository
    natural_keys = ("key", "tk_toezegging_nummer")
    refs = {
        "owner_party_id": Ref(Party, "party"),
        "made_to_party_id": Ref(Party, "party"),
        "source_id": Ref(Source, "source"),
    }
    relation_fields = ("themes", "recommendation_ids")

    async def apply_relations(self, obj: Commitment, data: dict[str, Any]) -> None:  # type: ignore[override]
        if data.get("themes") is not None:
            obj.themes = await ThemeService(self.session).resolve(data["themes"])
        if data.get("recommendation_ids") is not None:
            ids = list(dict.fromkeys(data["recommendation_ids"]))
            found = list(
                (await self.session.execute(select(Recommendation).where(Recommendation.id.in_(ids)))).scalars()
            ) if ids else []
            missing = [i for i in ids if i not in {r.id for r in found}]
            if missing:
                raise ValidationFailed(
                    "The request refers to recommendations that do not exist.",
                    [field_error(["body", "recommendation_ids", ids.index(i)], f"no recommendation with id {i}", "reference") for i in missing],
                )
            obj.recommendations = found

    @staticmethod
    def conditions(filters: CommitmentFilters) -> list[Any]:
        """Filters as conditions with *named* binds (the PostgreSQL list path caches SQL per shape)."""
        conds: list[Any] = equal_conditions(filters, Commitment, "owner_party_id", "origin", "tk_toezegging_nummer",
                                            "source_id")
        conds += date_range(Commitment.due_date, filters.due_before, filters.due_after)
        if filters.theme:
            conds.append(Commitment.id.in_(select(commitment_themes.c.commitment_id).where(
                commitment_themes.c.theme_key == bindparam("theme", filters.theme))))
        if filters.recommendation_id:
            conds.append(Commitment.id.in_(select(commitment_recommendations.c.commitment_id).where(
                commitment_recommendations.c.recommendation_id == bindparam("recommendation_id", filters.recommendation_id))))
        if filters.q:
            conds.append(text_filter(filters.q, Commitment.title, Commitment.description, name="q"))
        if filters.status:
            conds.append(Commitment.status == bindparam("status", str(filters.status)))
        if filters.schedule:
            conds.append(Commitment.schedule == bindparam("schedule", str(filters.schedule)))
        return conds

    async def after_write(self, obj: Commitment, *, created: bool) -> None:  # type: ignore[override]
        commitment_changed(self.session, obj.id)
