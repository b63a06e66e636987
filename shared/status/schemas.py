from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints, model_validator

from shared.fulfilment.schemas import EvidenceItemOut
from shared.schemas import ListParams, OutModel, StrictModel
from shared.status.messages import localise_one
from shared.status.vocabulary import RULE_VERSION, MilestoneStatus, Rule, Schedule, Severity, Status


class _Evidence(OutModel):
    id: str | None = Field(
        default=None,
        description="The record's id (TK: the nummer). Null only in history "
        "entries written before rule version 2026.12.1.",
    )
    path: str | None = Field(
        default=None,
        description="Where this API serves the record (GET). Null only in "
        "history entries written before rule version 2026.12.1.",
    )


class DueDateEvidence(_Evidence):
    type: Literal["due_date"]
    date: dt.date
    from_: str = Field(
        alias="from", description="commitment (its own due date), tk_datum_nakoming or period."
    )

    model_config = {"populate_by_name": True}


class PeriodEvidence(_Evidence):
    type: Literal["period"]
    period_start: dt.date
    period_end: dt.date
    fulfilled: bool


class TkToezeggingEvidence(_Evidence):
    type: Literal["tk_toezegging"]
    nummer: str
    status: str | None = None
    sample: bool = Field(
        default=False, description="From the bundled sample snapshot, not the Kamer's record."
    )


class TkDocumentEvidence(_Evidence):
    type: Literal["tk_document"]
    nummer: str | None = None
    titel: str | None = None
    datum: dt.date | None = None
    sample: bool = False


class MilestoneEvidence(_Evidence):
    type: Literal["milestone"]
    due_date: dt.date
    target_value: float | None = None
    planned_value: float | None = None
    projected_value: float | None = None
    reached_on: dt.date | None = None
    status: MilestoneStatus | None = None
    items: list[EvidenceItemOut] = Field(default_factory=list, description="Evidence that it was reached.")


class MeasurementEvidence(_Evidence):
    type: Literal["measurement"]
    milestone_id: str
    date: dt.date
    value: float


class ActionEvidence(_Evidence):
    type: Literal["action"]
    state: str
    last_update_date: dt.date | None = None


class FulfilmentEvidence(_Evidence):
    type: Literal["fulfilment"]
    kind: str
    date: dt.date
    period_start: dt.date | None = None
    review: Literal["pending", "accepted", "rejected"]
    items: list[EvidenceItemOut]


class OverrideEvidence(_Evidence):
    type: Literal["override"]
    status: Status
    reason: str
    expires_at: dt.datetime | None = None
    set_by: str | None = None
    set_at: dt.datetime | None = None


class CommitmentEvidence(_Evidence):
    type: Literal["commitment"]
    status: Status | None = None


class PartySignalCountsOut(OutModel):
    party_id: str
    path: str | None = None
    recent: int | None = Field(description="Null when below the minimum cell (suppressed).")
    baseline: int | None


class LinkedSignalCountsOut(OutModel):
    recent: int | None
    baseline: int | None


class SignalCountsEvidence(_Evidence):
    type: Literal["signal_counts"]
    recent: int | None = Field(
        description="Distinct signals in the recent window; null when below the minimum cell."
    )
    baseline: int | None
    recent_days: int
    baseline_days: int
    expected: float
    p_value: float
    themes: list[str]
    parties: list[PartySignalCountsOut] = Field(default_factory=list)
    linked: LinkedSignalCountsOut | None = None


Evidence = Annotated[
    DueDateEvidence
    | PeriodEvidence
    | TkToezeggingEvidence
    | TkDocumentEvidence
    | MilestoneEvidence
    | MeasurementEvidence
    | ActionEvidence
    | FulfilmentEvidence
    | OverrideEvidence
    | CommitmentEvidence
    | SignalCountsEvidence,
    Field(discriminator="type"),
]


class ReasonOut(OutModel):
    rule: Rule
    severity: Severity
    code: str | None = Field(
        default=None,
        description="Message code in the catalogue (stable; null only in "
        "history entries written before rule version 2026.12.1).",
        examples=["milestone.met"],
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The values the message is built from, for "
        "clients that word it themselves (a nested {code, params} is a clause).",
    )
    message: str = Field(
        description="Dutch by default; English with Accept-Language: en.",
        examples=[
            "Mijlpaal 'Alle ADL-assistenten in loondienst' heeft het doel 100 gehaald: 100 gemeten op 15 juni 2026."
        ],
    )
    evidence: list[Evidence] = Field(
        default_factory=list, description="What decided it, each with its id and path."
    )

    @model_validator(mode="before")
    @classmethod
    def _in_reader_language(cls, value: Any) -> Any:
        return localise_one(value) if isinstance(value, Mapping) else value


# Stored reasons are NULL until the status engine first evaluates a record: shown as an empty list.
Reasons = Annotated[list[ReasonOut], BeforeValidator(lambda value: [] if value is None else value)]


class MilestoneStatusOut(OutModel):
    id: uuid.UUID
    status: MilestoneStatus


class StatusOut(OutModel):
    commitment_id: uuid.UUID
    status: Status
    computed_status: Status = Field(description="What the rules say before any manual override.")
    schedule: Schedule
    source_status: str | None
    reasons: list[ReasonOut]
    milestones: list[MilestoneStatusOut]
    as_of: dt.date
    evaluated_at: dt.datetime
    rule_version: str

    @classmethod
    def of(
        cls, commitment_id: uuid.UUID, evaluation: Any, as_of: dt.date, evaluated_at: dt.datetime
    ) -> StatusOut:
        return cls(
            commitment_id=commitment_id,
            status=evaluation.status,
            computed_status=evaluation.computed_status,
            schedule=evaluation.schedule,
            source_status=evaluation.source_status,
            reasons=[ReasonOut(**r) for r in evaluation.reasons_json()],
            milestones=[
                MilestoneStatusOut(id=uuid.UUID(k), status=v) for k, v in evaluation.milestones.items()
            ],
            as_of=as_of,
            evaluated_at=evaluated_at,
            rule_version=RULE_VERSION,
        )


class StatusHistoryOut(OutModel):
    id: uuid.UUID
    commitment_id: uuid.UUID
    status: Status
    schedule: Schedule
    source_status: str | None
    reasons: list[ReasonOut]
    rule_version: str
    as_of: dt.date
    evaluated_at: dt.datetime


class StatusHistoryParams(ListParams):
    sort: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="evaluated_at or -evaluated_at (default: newest first)."
    )


class OverrideIn(StrictModel):
    status: Status
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    expires_at: AwareDatetime = Field(
        description="When the override stops winning (it holds through that UTC day)."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "status": "on_track",
                    "reason": "Brief van 12 november 2026 bevestigt de planning.",
                    "expires_at": "2027-01-31T00:00:00Z",
                }
            ]
        }
    }


class OverrideOut(OutModel):
    commitment_id: uuid.UUID
    status: Status
    reason: str
    expires_at: dt.datetime | None
    set_by: str | None
    set_at: dt.datetime
