from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from shared.actions.models import ActionState
from shared.people.schemas import OwnerPerson, OwnerPersonFilter, PersonOut
from shared.schemas import (
    ListParams,
    LongText,
    OutModel,
    ProvenanceIn,
    ProvenanceOut,
    RecordOut,
    Slug,
    Title,
    not_null,
)


class ActionCreate(ProvenanceIn):
    key: Slug | None = None
    title: Title
    description: LongText | None = None
    commitment_id: uuid.UUID | None = None
    recommendation_id: uuid.UUID | None = None
    owner_party_id: uuid.UUID | None = None
    state: ActionState = ActionState.planned
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    last_update_date: dt.date | None = Field(
        default=None, description="Date of the last progress report; defaults to today."
    )
    owner_person: OwnerPerson = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "commitment_id": "0b7f3f2e-8a55-4a38-9f7a-2b1f0d3f9c11",
                    "title": "Programma afbouw zzp",
                    "state": "in_progress",
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _target_and_dates(self) -> ActionCreate:
        if self.commitment_id is None and self.recommendation_id is None:
            raise ValueError("an action needs a commitment_id or a recommendation_id")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date lies before start_date")
        return self


class ActionUpdate(ProvenanceIn):
    key: Slug | None = None
    title: Title = not_null()
    description: LongText | None = None
    commitment_id: uuid.UUID | None = None
    recommendation_id: uuid.UUID | None = None
    owner_party_id: uuid.UUID | None = None
    state: ActionState = not_null()
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    last_update_date: dt.date | None = None
    owner_person: OwnerPerson = None

    model_config = {"json_schema_extra": {"examples": [{"state": "done", "last_update_date": "2026-05-12"}]}}


class ActionOut(ProvenanceOut, RecordOut, OutModel):
    title: str
    description: str | None
    commitment_id: uuid.UUID | None
    recommendation_id: uuid.UUID | None
    owner_party_id: uuid.UUID | None
    state: ActionState
    start_date: dt.date | None
    end_date: dt.date | None
    last_update_date: dt.date | None
    owner_person: PersonOut | None = None


class ActionFilters(ListParams):
    commitment_id: uuid.UUID | None = Field(default=None, description="Only actions on this commitment.")
    recommendation_id: uuid.UUID | None = Field(
        default=None, description="Only actions on this recommendation."
    )
    owner_party_id: uuid.UUID | None = Field(default=None, description="Only actions owned by this party.")
    state: ActionState | None = Field(default=None, description="Only actions in this state.")
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Case-insensitive substring search in title and description."
    )
    owner_person: OwnerPersonFilter = None
