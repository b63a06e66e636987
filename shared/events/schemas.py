from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from shared.events.service import EventType
from shared.schemas import OutModel, StrictModel


class EventOut(OutModel):
    id: int = Field(
        description="The event's number (unique; the feed's order is by commit, use next_cursor)."
    )
    type: EventType
    time: dt.datetime = Field(validation_alias="at", description="When the change was made.")
    subject: str = Field(
        description="Path of the record the event is about; GET it for its current state.",
        examples=["/v1/commitments/8d3c6a9e-55b1-4a43-9c62-1f0a2b3c4d5e"],
    )
    payload: dict[str, Any] = Field(
        description="What changed, in brief (never the content of a client signal).",
        examples=[
            {
                "commitment_id": "8d3c6a9e-55b1-4a43-9c62-1f0a2b3c4d5e",
                "old_status": "on_track",
                "new_status": "at_risk",
                "old_schedule": "on_time",
                "new_schedule": "late",
                "rules": ["milestone"],
            }
        ],
    )


Cursor = Annotated[str, StringConstraints(max_length=42, pattern=r"^[0-9]+_[0-9]+$")]


class EventFilters(StrictModel):
    after: Cursor | None = Field(
        default=None,
        description="`next_cursor` of the previous page: the events after "
        "it. Without one the feed starts at its oldest kept event.",
    )
    cursor: Cursor | None = Field(default=None, description="The same as `after` (the name every list uses).")
    types: list[EventType] | None = Field(
        default=None,
        description="Only events of these types (repeat the parameter, or separate them with commas).",
    )
    limit: Annotated[int, Field(ge=1, le=500, description="Page size (1-500).")] = 100

    @field_validator("types", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
        return value
