from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from shared.actions.models import ACTION_SEARCH, Action
from shared.actions.repository import ActionRepository
from shared.actions.schemas import ActionFilters
from shared.commitments.events import commitment_changed, recommendation_changed
from shared.commitments.models import Commitment
from shared.crud import CrudService, Ref, equal_conditions
from shared.errors import ValidationFailed, field_error
from shared.parties.models import Party
from shared.people.models import Acting, owner_person_condition
from shared.recommendations.models import Recommendation
from shared.sources.models import Source


class ActionService(CrudService[Action]):
    repository_class = ActionRepository
    refs = {
        "commitment_id": Ref(Commitment, "commitment"),
        "recommendation_id": Ref(Recommendation, "recommendation"),
        "owner_party_id": Ref(Party, "party"),
        "source_id": Ref(Source, "source"),
        ("owner_person", "party_id"): Ref(Party, "party"),
    }

    def column_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values = super().column_values(data)
        # A state change is a progress update: stamp it unless the caller gave the report date.
        if "state" in values and values.get("last_update_date") is None:
            values["last_update_date"] = dt.date.today()
        return values

    def validate_object(self, obj: Action) -> None:
        if obj.commitment_id is None and obj.recommendation_id is None:
            raise ValidationFailed(
                "An action needs a commitment or a recommendation.",
                [field_error(["body", "commitment_id"], "cannot clear both targets")],
            )
        if obj.start_date and obj.end_date and obj.end_date < obj.start_date:
            raise ValidationFailed(
                "end_date lies before start_date.", [field_error(["body", "end_date"], "before start_date")]
            )

    # An action is evidence for its commitment and for its recommendation (whose linked commitments are
    # recalculated, rolling the recommendation up). A move or a delete also touches what it leaves behind.

    async def update(self, obj: Action, data: dict[str, Any], actor: Acting | None = None) -> Action:
        before = (obj.commitment_id, obj.recommendation_id)
        obj = await super().update(obj, data, actor)
        if before != (obj.commitment_id, obj.recommendation_id):
            await self._targets_changed(*before)
        return obj

    async def delete(self, obj: Action) -> None:
        targets = (obj.commitment_id, obj.recommendation_id)
        await super().delete(obj)
        await self._targets_changed(*targets)

    async def after_write(self, obj: Action, *, created: bool) -> None:
        await self._targets_changed(obj.commitment_id, obj.recommendation_id)

    async def _targets_changed(self, commitment_id: Any, recommendation_id: Any) -> None:
        commitment_changed(self.session, commitment_id)
        await recommendation_changed(self.session, recommendation_id)

    @staticmethod
    def conditions(filters: ActionFilters) -> list[Any]:
        conds = equal_conditions(
            filters, Action, "commitment_id", "recommendation_id", "owner_party_id", "state"
        )
        if filters.q:
            conds.append(ACTION_SEARCH.match(filters.q))
        if filters.owner_person:
            conds.append(owner_person_condition(Action, filters.owner_person))
        return conds
