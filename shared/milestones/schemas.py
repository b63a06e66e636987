from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from shared.fulfilment.schemas import EvidenceItem, EvidenceItemOut
from shared.milestones.models import Direction, Milestone
from shared.people.schemas import OwnerPerson, OwnerPersonFilter, PersonOut
from shared.schemas import (
    AuthoredOut,
    ListParams,
    LongText,
    OutModel,
    ProvenanceIn,
    ProvenanceOut,
    RecordOut,
    Slug,
    StrictModel,
    Title,
    not_null,
)
from shared.status.schemas import Reasons
from shared.status.vocabulary import MilestoneStatus

Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class Indicator(StrictModel):
    unit: Unit = Field(examples=["percent"])
    baseline_value: float | None = None
    baseline_date: dt.date | None = None
    target_value: float
    direction: Direction | None = Field(
        default=None, description="increase or decrease; derived from baseline and target when omitted."
    )

    _check = field_validator("baseline_value", "target_value")(classmethod(lambda cls, v: _finite(v)))

    @model_validator(mode="after")
    def _derive_direction(self) -> Indicator:
        if self.direction is None:
            if self.baseline_value is not None and self.target_value < self.baseline_value:
                self.direction = Direction.decrease
            else:
                self.direction = Direction.increase
        return self


ReachedOn = Annotated[
    dt.date | None,
    Field(description="When it was reached (mostly for milestones without an indicator); reached -> met."),
]
ReachedEvidence = Annotated[
    list[EvidenceItem] | None,
    Field(
        max_length=50,
        description="What shows it was reached: each item a url, tk_document_nummer or source_id.",
    ),
]


class MilestoneCreate(ProvenanceIn):
    key: Slug | None = None
    commitment_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    title: Title
    description: LongText | None = None
    due_date: dt.date
    indicator: Indicator | None = None
    reached_on: ReachedOn = None
    evidence: ReachedEvidence = None
    owner_person: OwnerPerson = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "commitment_id": "0b7f3f2e-8a55-4a38-9f7a-2b1f0d3f9c11",
                    "title": "Alle ADL-assistenten in loondienst bij Fokus",
                    "due_date": "2026-07-01",
                    "indicator": {
                        "unit": "percent",
                        "baseline_value": 60,
                        "baseline_date": "2025-10-01",
                        "target_value": 100,
                    },
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _one_parent(self) -> MilestoneCreate:
        if (self.commitment_id is None) == (self.action_id is None):
            raise ValueError("give exactly one of commitment_id and action_id")
        return self


class MilestoneUpdate(ProvenanceIn):
    key: Slug | None = None
    title: Title = not_null()
    description: LongText | None = None
    due_date: dt.date = not_null()
    indicator: Indicator | None = None
    reached_on: ReachedOn = None
    evidence: ReachedEvidence = None
    owner_person: OwnerPerson = None

    model_config = {
        "json_schema_extra": {"examples": [{"due_date": "2026-10-01"}, {"reached_on": "2026-06-20"}]}
    }


class MeasurementCreate(ProvenanceIn):
    key: Slug | None = None
    date: dt.date
    value: float
    note: LongText | None = None

    model_config = {"json_schema_extra": {"examples": [{"date": "2026-03-01", "value": 72.5}]}}

    _check = field_validator("value")(classmethod(lambda cls, v: _finite(v)))


class MeasurementOut(ProvenanceOut, AuthoredOut):
    id: uuid.UUID
    key: str | None
    milestone_id: uuid.UUID
    date: dt.date
    value: float
    note: str | None
    created_at: dt.datetime


class IndicatorOut(OutModel):
    unit: str
    baseline_value: float | None
    baseline_date: dt.date | None
    target_value: float
    direction: Direction


class MilestoneOut(ProvenanceOut, RecordOut, OutModel):
    title: str
    description: str | None
    commitment_id: uuid.UUID | None
    action_id: uuid.UUID | None
    due_date: dt.date
    indicator: IndicatorOut | None
    measurements: list[MeasurementOut]
    reached_on: dt.date | None = None
    evidence: Annotated[list[EvidenceItemOut], BeforeValidator(lambda value: value or [])] = Field(
        default_factory=list, description="What shows it was reached."
    )
    owner_person: PersonOut | None = None
    status: MilestoneStatus = Field(description="pending, on_track, at_risk, met or missed (status engine).")
    reasons: Reasons = Field(default_factory=list, description="Why it has its status (status engine).")

    @classmethod
    def from_model(cls, obj: Milestone, measurements: list[Any] | None = None) -> MilestoneOut:
        """`measurements`: rows read beside the milestone (its list read), instead of its relationship."""
        skip = ("indicator",) if measurements is None else ("indicator", "measurements")
        data = {
            name: getattr(obj, name) for name in cls.model_fields if name not in skip and hasattr(obj, name)
        }
        if measurements is not None:
            data["measurements"] = measurements
        if obj.target_value is not None and obj.indicator_unit is not None:
            data["indicator"] = IndicatorOut(
                unit=obj.indicator_unit,
                baseline_value=obj.baseline_value,
                baseline_date=obj.baseline_date,
                target_value=obj.target_value,
                direction=obj.direction or Direction.increase,
            )
        else:
            data["indicator"] = None
        return cls.model_validate(data)


class MilestoneFilters(ListParams):
    commitment_id: uuid.UUID | None = Field(default=None, description="Only milestones of this commitment.")
    action_id: uuid.UUID | None = Field(default=None, description="Only milestones of this action.")
    due_before: dt.date | None = Field(default=None, description="Due on or before this date.")
    due_after: dt.date | None = Field(default=None, description="Due on or after this date.")
    has_indicator: bool | None = Field(
        default=None, description="true: only milestones with a numeric indicator; false: only those without."
    )
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Case-insensitive substring search in title and description."
    )
    owner_person: OwnerPersonFilter = None
