from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from shared.actions.models import Action
from shared.commitments.events import commitment_changed
from shared.commitments.models import Commitment
from shared.crud import CrudService, Ref, date_range, equal_conditions
from shared.errors import DuplicateKey, field_error
from shared.fulfilment.schemas import stored_evidence
from shared.milestones.models import MILESTONE_SEARCH, Measurement, Milestone
from shared.milestones.repository import MeasurementRepository, MilestoneRepository
from shared.milestones.schemas import MilestoneFilters
from shared.parties.models import Party
from shared.people.models import Acting, owner_person_condition
from shared.sources.models import Source


async def owning_commitment_id(session: Any, milestone: Milestone) -> uuid.UUID | None:
    return await parent_commitment_id(session, milestone.commitment_id, milestone.action_id)


async def parent_commitment_id(
    session: Any, commitment_id: uuid.UUID | None, action_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The commitment of a milestone with these parents: its own, or its action's (None for an action on a
    recommendation)."""
    if commitment_id is not None:
        return commitment_id
    if action_id is None:
        return None
    return (await session.execute(select(Action.commitment_id).where(Action.id == action_id))).scalar()


class MilestoneService(CrudService[Milestone]):
    repository_class = MilestoneRepository
    refs = {
        "commitment_id": Ref(Commitment, "commitment"),
        "action_id": Ref(Action, "action"),
        "source_id": Ref(Source, "source"),
        ("owner_person", "party_id"): Ref(Party, "party"),
    }

    def column_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(data)
        if values.get("evidence") is not None:
            values["evidence"] = stored_evidence(values["evidence"])
        if "indicator" in values:
            indicator = values.pop("indicator")
            indicator = indicator or {}
            values.update(
                indicator_unit=indicator.get("unit"),
                baseline_value=indicator.get("baseline_value"),
                baseline_date=indicator.get("baseline_date"),
                target_value=indicator.get("target_value"),
                direction=indicator.get("direction"),
            )
        return values

    async def update(self, obj: Milestone, data: dict[str, Any], actor: Acting | None = None) -> Milestone:
        before = await owning_commitment_id(self.session, obj)
        obj = await super().update(obj, data, actor)
        commitment_changed(self.session, before)  # a milestone moved away changes what it left too
        return obj

    async def after_write(self, obj: Milestone, *, created: bool) -> None:
        commitment_changed(self.session, await owning_commitment_id(self.session, obj))

    async def delete(self, obj: Milestone) -> None:
        owner = await owning_commitment_id(self.session, obj)
        await super().delete(obj)
        commitment_changed(self.session, owner)

    @staticmethod
    def conditions(filters: MilestoneFilters) -> list[Any]:
        conds = equal_conditions(filters, Milestone, "commitment_id", "action_id")
        conds += date_range(Milestone.due_date, filters.due_before, filters.due_after)
        if filters.has_indicator is not None:
            conds.append(
                Milestone.target_value.isnot(None)
                if filters.has_indicator
                else Milestone.target_value.is_(None)
            )
        if filters.q:
            conds.append(MILESTONE_SEARCH.match(filters.q))
        if filters.owner_person:
            conds.append(owner_person_condition(Milestone, filters.owner_person))
        return conds


class MeasurementService(CrudService[Measurement]):
    repository_class = MeasurementRepository
    refs = {"source_id": Ref(Source, "source")}

    async def record(
        self, milestone: Milestone, data: dict[str, Any], actor: Acting | None = None
    ) -> Measurement:
        existing = await self.repo.get_by(milestone_id=milestone.id, date=data["date"])
        if existing is not None:
            raise DuplicateKey(
                f"This milestone already has a measurement on {data['date']} (id {existing.id}); "
                "delete it first to correct it.",
                errors=[field_error(["body", "date"], "already measured on this date", "duplicate")],
                existing_id=str(existing.id),
            )
        measurement = await self.create({**data, "milestone_id": milestone.id}, actor)
        commitment_changed(self.session, await owning_commitment_id(self.session, milestone))
        return measurement

    async def remove(self, milestone: Milestone, measurement: Measurement) -> None:
        """Delete a wrong measurement; its commitment is judged again without it."""
        await self.delete(measurement)
        commitment_changed(self.session, await owning_commitment_id(self.session, milestone))
