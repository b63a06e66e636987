from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints

from shared.schemas import ListParams, OutModel, StrictModel
from shared.status.vocabulary import RULE_VERSION, MilestoneStatus, Schedule, Severity, Status


class ReasonOut(OutModel):
    rule: str = Field(examples=["milestone"])
    severity: Severity
    message: str = Field(examples=["Milestone 'Alle ADL-assistenten in loondienst' was due on 2026-07-01 and "
                                   "has no measurement: target 100 is not shown to be met."])
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, description="What decided it: tk_toezegging, tk_document, due_date, milestone, "
        "measurement, action, signal_counts or override, each with ids and values.")


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
    def of(cls, commitment_id: uuid.UUID, evaluation: Any, as_of: dt.date, evaluated_at: dt.datetime) -> "StatusOut":
        return cls(commitment_id=commitment_id, status=evaluation.status, computed_status=evaluation.computed_status,
                   schedule=evaluation.schedule, source_status=evaluation.source_status,
                   reasons=[ReasonOut(**r) for r in evaluation.reasons_json()],
                   milestones=[MilestoneStatusOut(id=uuid.UUID(k), status=v) for k, v in evaluation.milestones.items()],
                   as_of=as_of, evaluated_at=evaluated_at, rule_version=RULE_VERSION)


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
        default=None, description="evaluated_at or -evaluated_at (default: newest first).")


class OverrideIn(StrictModel):
    status: Status
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    expires_at: AwareDatetime = Field(description="When the override stops winning (it holds through that UTC day).")

    model_config = {"json_schema_extra": {"examples": [{
        "status": "on_track", "reason": "Brief van 12 november 2026 bevestigt de planning.",
        "expires_at": "2027-01-31T00:00:00Z"}]}}


class OverrideOut(OutModel):
    commitment_id: uuid.UUID
    status: Status
    reason: str
    expires_at: dt.datetime | None
    set_by: str | None
    set_at: dt.datetime
