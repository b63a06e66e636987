from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from shared.commitments.models import Commitment, CommitmentOrigin, Recurrence
from shared.people.schemas import OwnerPerson, OwnerPersonFilter, PersonOut
from shared.schemas import (
    ListParams,
    LongText,
    OutModel,
    ProvenanceIn,
    ProvenanceOut,
    RecordOut,
    Slug,
    StrictModel,
    ThemeKey,
    Title,
    not_null,
)
from shared.status.schemas import Reasons
from shared.status.vocabulary import Schedule, Status

ToezeggingNummer = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^TZ\d{6}-\d{3,5}$"),
    Field(description="Tweede Kamer toezegging number", examples=["TZ202511-041"]),
]
ThemeList = Annotated[list[ThemeKey], Field(max_length=20, description="Theme keys from GET /v1/themes.")]
SubjectParties = Annotated[
    list[uuid.UUID],
    Field(
        max_length=50,
        description="Parties the commitment concerns beside its owner (e.g. VWS' supervision concerns "
        "Fokus): client signals about them on the commitment's themes count for its status.",
    ),
]


class RecurrenceIn(StrictModel):
    unit: Recurrence = Field(
        description="month, quarter or year: one deadline and one fulfilment record each."
    )
    start: dt.date = Field(
        description="The first period starts on this date; the commitment's due_date, if "
        "any, ends the series."
    )


class RecurrenceOut(OutModel):
    unit: Recurrence
    start: dt.date


class CommitmentCreate(ProvenanceIn):
    key: Slug | None = None
    title: Title
    description: LongText | None = None
    owner_party_id: uuid.UUID | None = None
    made_to_party_id: uuid.UUID | None = None
    origin: CommitmentOrigin = CommitmentOrigin.other
    due_date: dt.date | None = None
    themes: ThemeList = Field(default_factory=list)
    recommendation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    tk_toezegging_nummer: ToezeggingNummer | None = None
    subject_party_ids: SubjectParties = Field(default_factory=list)
    recurrence: RecurrenceIn | None = None
    owner_person: OwnerPerson = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Alle ADL-assistenten in loondienst; geen zzp'ers meer",
                    "due_date": "2026-07-01",
                    "themes": ["inzet-zzp-flex"],
                    "origin": "report_response",
                }
            ]
        }
    }

    @field_validator("themes")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class CommitmentUpdate(ProvenanceIn):
    key: Slug | None = None
    title: Title = not_null()
    description: LongText | None = None
    owner_party_id: uuid.UUID | None = None
    made_to_party_id: uuid.UUID | None = None
    origin: CommitmentOrigin = not_null()
    due_date: dt.date | None = None
    themes: ThemeList = not_null()
    recommendation_ids: list[uuid.UUID] = not_null(max_length=100)
    tk_toezegging_nummer: ToezeggingNummer | None = None
    subject_party_ids: SubjectParties = not_null()
    recurrence: RecurrenceIn | None = Field(default=None, description="Send null to stop the recurrence.")
    owner_person: OwnerPerson = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"due_date": "2026-09-01"},
                {"title": "Alle ADL-assistenten in loondienst", "description": None},
            ]
        }
    }


class CommitmentOut(ProvenanceOut, RecordOut, OutModel):
    title: str
    description: str | None
    owner_party_id: uuid.UUID | None
    made_to_party_id: uuid.UUID | None
    origin: CommitmentOrigin
    due_date: dt.date | None
    tk_toezegging_nummer: str | None
    themes: list[str]
    recommendation_ids: list[uuid.UUID]
    subject_party_ids: list[uuid.UUID]
    recurrence: RecurrenceOut | None
    owner_person: PersonOut | None = None
    status: Status = Field(description="Current status from the status engine (an active override included).")
    schedule: Schedule
    source_status: str | None = Field(description="The TK status as received, when linked to a toezegging.")
    reasons: Reasons = Field(description="Why: ordered worst first, each with its evidence.")
    evaluated_at: dt.datetime | None
    rule_version: str | None

    @classmethod
    def from_model(cls, obj: Commitment) -> CommitmentOut:
        derived = {"themes", "recommendation_ids", "subject_party_ids", "recurrence"}
        data = {
            name: getattr(obj, name)
            for name in cls.model_fields
            if name not in derived and hasattr(obj, name)
        }
        data["themes"] = [t.key for t in obj.themes]
        data["recommendation_ids"] = [r.id for r in obj.recommendations]
        data["subject_party_ids"] = sorted(p.id for p in obj.subject_parties)
        data["recurrence"] = recurrence_of(obj.recurrence_unit, obj.recurrence_start)
        return cls.model_validate(data)


def recurrence_of(unit: object, start: object) -> dict[str, object] | None:
    return {"unit": unit, "start": start} if unit is not None and start is not None else None


class CommitmentSelection(StrictModel):
    """Which commitments: the list's filters, also those of the counts (GET /v1/commitments/counts)."""

    theme: ThemeKey | None = Field(default=None, description="Only commitments on this theme.")
    owner_party_id: uuid.UUID | None = Field(default=None, description="Only commitments made by this party.")
    origin: CommitmentOrigin | None = Field(default=None, description="Only commitments of this origin.")
    due_before: dt.date | None = Field(default=None, description="Due on or before this date.")
    due_after: dt.date | None = Field(default=None, description="Due on or after this date.")
    tk_toezegging_nummer: ToezeggingNummer | None = Field(
        default=None, description="Only the commitment that follows this TK toezegging."
    )
    recommendation_id: uuid.UUID | None = Field(
        default=None, description="Only commitments answering this recommendation."
    )
    source_id: uuid.UUID | None = Field(default=None, description="Only commitments from this source.")
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None,
        description="Case-insensitive substring search in title, description, source quote and the text of the linked TK toezegging (from 3 characters on, answered by a text index).",
    )
    status: Status | None = Field(default=None, description="Current status (status engine).")
    schedule: Schedule | None = Field(default=None, description="no_deadline, on_time, due_soon or overdue.")
    owner_person: OwnerPersonFilter = None


class CommitmentFilters(CommitmentSelection, ListParams):
    """The list's filters, one page at a time."""


class StatusScheduleCount(OutModel):
    status: Status
    schedule: Schedule
    count: int


class CommitmentCountsOut(OutModel):
    total: int = Field(description="Commitments matching the filters.")
    by_status: dict[Status, int] = Field(description="Every status, with 0 where none match.")
    by_schedule: dict[Schedule, int] = Field(description="Every schedule, with 0 where none match.")
    cells: list[StatusScheduleCount] = Field(description="The non-empty combinations of status and schedule.")
