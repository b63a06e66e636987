from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.errors import ValidationFailed
from shared.schemas import ListParams, OutModel, StrictModel, ThemeKey, not_null
from shared.signals.disclosure import REASON_CODES
from shared.signals.models import (
    BatchStatus,
    ReporterRole,
    SignalChannel,
    SignalKind,
    SignalOutcome,
    SignalSeverity,
    SignalStatus,
)
from shared.signals.privacy import bsn_violations

AgbCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{8}$"),
    Field(description="AGB code (8 digits).", examples=["12345678"]),
]
ZorgkantoorCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}$"),
    Field(description="Zorgkantoor (UZOVI) code (4 digits).", examples=["5521"]),
]
SourceSystem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class BsnRejected(ValidationFailed):
    type_slug, title = "bsn-rejected", "BSN not accepted"


def reject_bsn(data: Any, loc: tuple[str | int, ...] = ("body",)) -> None:
    errors = bsn_violations(data, loc)
    if errors:
        where = ", ".join(".".join(map(str, e["loc"])) for e in errors[:5])
        raise BsnRejected(
            f"The request holds what looks like a BSN (citizen service number) at {where}; "
            "this service may not store one. Remove it and send the request again.",
            errors,
        )


class SignalIn(StrictModel):
    source_system: SourceSystem = Field(
        description="The system the signal comes from; with external_id the natural key.",
        examples=["fokus-klachten"],
    )
    external_id: ExternalId = Field(examples=["KL-2026-0042"])
    kind: SignalKind
    channel: SignalChannel | None = None
    themes: list[ThemeKey] = Field(
        default_factory=list, max_length=12, description="Theme keys from GET /v1/themes (controlled list)."
    )
    severity: SignalSeverity | None = None
    received_date: dt.date
    occurred_date: dt.date | None = None
    provider_agb: AgbCode | None = None
    location: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None
    ) = None
    zorgkantoor_code: ZorgkantoorCode | None = None
    reporter_role: ReporterRole | None = None
    anonymous: bool = False
    status: SignalStatus = SignalStatus.ontvangen
    outcome: SignalOutcome | None = None
    extension_recorded: bool = Field(
        default=False, description="The Wkkgz judgement term was extended by 4 weeks."
    )
    commitment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    summary: Annotated[str, StringConstraints(max_length=5000)] | None = None
    client_reference: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None
    ) = Field(
        default=None,
        description="The source's client reference; stored only as a keyed pseudonym. Never a BSN.",
    )
    retention_date: dt.date | None = Field(
        default=None,
        description="Delete after this date; default received_date + NAKOMING_SIGNAL_RETENTION_DAYS.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "source_system": "fokus-klachten",
                    "external_id": "KL-2026-0042",
                    "kind": "klacht",
                    "channel": "email",
                    "themes": ["bejegening"],
                    "severity": "middel",
                    "received_date": "2026-02-02",
                    "provider_agb": "12345678",
                    "location": "Fokus Utrecht",
                    "zorgkantoor_code": "5521",
                    "reporter_role": "client",
                    "summary": "Assistentie kwam niet op tijd.",
                }
            ]
        }
    }

    @model_validator(mode="before")
    @classmethod
    def _no_bsn(cls, data: Any, info: ValidationInfo) -> Any:
        # Before field validation, so a BSN-like field name is named as such (not as an unknown field).
        # A batch screens its raw lines first and passes context {"bsn_screened": True} for clean ones.
        if isinstance(data, dict) and not (info.context or {}).get("bsn_screened"):
            reject_bsn(data)
        return data

    @field_validator("themes")
    @classmethod
    def _unique_themes(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("commitment_ids")
    @classmethod
    def _unique_commitments(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> SignalIn:
        if self.occurred_date and self.occurred_date > self.received_date:
            raise ValueError("occurred_date is after received_date")
        if self.anonymous and self.client_reference:
            raise ValueError("an anonymous signal has no client_reference")
        if self.retention_date and self.retention_date < self.received_date:
            raise ValueError("retention_date is before received_date")
        return self


class SignalUpdate(StrictModel):
    """What happens to a signal after intake (JSON merge semantics: only the fields sent change)."""

    status: SignalStatus = not_null(
        description=(
            "ontvangen -> in_behandeling -> oordeel -> afgesloten; doorgezet (forwarded, e.g. to the IGJ or a "
            "disputes body) from any open status; afgesloten and doorgezet are final."
        )
    )
    outcome: SignalOutcome | None = Field(
        default=None,
        description=(
            "Required for oordeel (gegrond, deels_gegrond, ongegrond or geen_oordeel) and afgesloten; only with "
            "one of oordeel, afgesloten or doorgezet."
        ),
    )
    extension_recorded: bool = not_null(
        description=(
            "Wkkgz: true records the one extension of the judgement term by 4 weeks (complaints only, before the "
            "judgement); it cannot be withdrawn."
        )
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"status": "in_behandeling"},
                {"status": "oordeel", "outcome": "deels_gegrond"},
                {"extension_recorded": True},
            ]
        }
    }


class SignalOut(OutModel):
    id: uuid.UUID
    source_system: str
    external_id: str
    kind: SignalKind
    channel: SignalChannel | None
    themes: list[str]
    severity: SignalSeverity | None
    received_date: dt.date
    occurred_date: dt.date | None
    provider_agb: str | None
    provider_party_id: uuid.UUID | None
    location: str | None
    zorgkantoor_code: str | None
    reporter_role: ReporterRole | None
    anonymous: bool
    status: SignalStatus
    outcome: SignalOutcome | None
    judgement_due_date: dt.date | None = Field(
        description="Wkkgz: received + 6 weeks (+4 with an extension); complaints only."
    )
    extension_recorded: bool
    commitment_ids: list[uuid.UUID]
    summary: str | None
    client_pseudonym: str | None = Field(description="HMAC-SHA256 of the client reference.")
    pseudonym_key_version: int | None
    retention_date: dt.date
    batch_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(
        cls, obj: Any, *, themes: list[str] | None = None, commitment_ids: list[uuid.UUID] | None = None
    ) -> SignalOut:
        data = {
            name: getattr(obj, name) for name in cls.model_fields if name not in {"themes", "commitment_ids"}
        }
        data["themes"] = themes if themes is not None else [t.key for t in obj.themes]
        data["commitment_ids"] = (
            commitment_ids if commitment_ids is not None else [c.id for c in obj.commitments]
        )
        return cls.model_validate(data)


class SignalFilters(ListParams):
    kind: SignalKind | None = Field(default=None, description="Only signals of this kind.")
    status: SignalStatus | None = Field(default=None, description="Only signals in this handling status.")
    theme: ThemeKey | None = Field(default=None, description="Only signals on this theme.")
    provider_agb: AgbCode | None = Field(
        default=None, description="Only signals about the provider with this AGB code."
    )
    zorgkantoor_code: ZorgkantoorCode | None = Field(
        default=None, description="Only signals in this zorgkantoor region."
    )
    location: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Only signals about this location (exact name)."
    )
    source_system: SourceSystem | None = Field(
        default=None, description="Only signals from this source system."
    )
    external_id: ExternalId | None = Field(
        default=None, description="Only the signal with this id in its source system."
    )
    commitment_id: uuid.UUID | None = Field(
        default=None, description="Only signals linked to this commitment."
    )
    batch_id: uuid.UUID | None = Field(default=None, description="Only signals from this batch upload.")
    received_from: dt.date | None = Field(default=None, description="Received on or after this date.")
    received_to: dt.date | None = Field(default=None, description="Received on or before this date.")


class BatchLineError(OutModel):
    line: int
    errors: list[dict[str, Any]]


class BatchOut(OutModel):
    id: uuid.UUID
    format: Literal["ndjson", "csv"]
    status: BatchStatus
    total_lines: int = Field(description="Records in the upload (a CSV header is not a record).")
    processed_lines: int
    accepted: int
    duplicate: int
    rejected: int
    errors: list[BatchLineError] = Field(default_factory=list, description="Per-line errors (first 1,000).")
    errors_truncated: bool = False
    failure: str | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None


GroupBy = Literal["theme", "provider", "location", "zorgkantoor", "month"]


class StatsParams(StrictModel):
    group_by: GroupBy = Field(default="theme", description="What to count signals per.")
    from_: dt.date | None = Field(
        default=None,
        alias="from",
        description="Received on or after this date; widened "
        "to the first day of its month (aggregates are per whole calendar month).",
    )
    to: dt.date | None = Field(
        default=None, description="Received on or before this date; widened to the last day of its month."
    )
    theme: ThemeKey | None = Field(default=None, description="Only signals on this theme.")
    kind: SignalKind | None = Field(default=None, description="Only signals of this kind.")

    model_config = {"populate_by_name": True}


Reason = Field(default=None, description=f"Why the figure is hidden: {REASON_CODES}. Null when shown.")


class StatsCell(OutModel):
    group: str | None = Field(
        description="The group's value (theme key, AGB code, location, zorgkantoor code or "
        "YYYY-MM); null for signals without one."
    )
    count: int | str | None = Field(
        description="Exact count; '<N' when under NAKOMING_MIN_CELL; null when withheld "
        "for another reason (then it is at least N)."
    )
    suppressed: bool
    reason: str | None = Reason


class StatsOut(OutModel):
    group_by: str
    from_: dt.date | None = Field(serialization_alias="from", description="The window used: whole months.")
    to: dt.date | None = Field(description="The window used: whole months.")
    theme: str | None
    kind: str | None
    min_cell: int
    suppressed: bool = Field(
        description="True when no cell is listed: every choice of visible cells would let a "
        "hidden count be computed from the table's total (reason `table`)."
    )
    reason: str | None = Reason
    items: list[StatsCell]


class TrendParams(StrictModel):
    theme: ThemeKey | None = Field(default=None, description="Only signals on this theme.")
    provider: AgbCode | None = Field(default=None, description="Provider AGB code.")
    months: int = Field(
        default=12, ge=2, le=60, description="Number of calendar months, the last one included."
    )
    until: dt.date | None = Field(
        default=None,
        description="A day in the last month (default today); periods are whole calendar months.",
    )

    @model_validator(mode="after")
    def _fits_the_calendar(self) -> TrendParams:
        if self.until is not None and self.until.year * 12 + self.until.month - self.months < 12:
            raise PydanticCustomError(
                "date_range",
                "until leaves fewer than `months` months before it in the calendar (it starts at 0001-01-01)",
            )
        return self


class TrendPeriod(OutModel):
    period: str
    start: dt.date
    end: dt.date
    count: int | str | None = Field(
        description="Exact count; '<N' when under NAKOMING_MIN_CELL (zero included); "
        "null when withheld for another reason."
    )
    suppressed: bool
    reason: str | None = Reason


class TrendRise(OutModel):
    significant: bool | None = Field(description="Null when withheld.")
    p_value: float | None = Field(description="One-sided Poisson p-value; null when withheld.")
    expected: float | None = Field(
        description="The last period's count expected at the baseline rate; null when withheld."
    )
    suppressed: bool = Field(description="True when the test is withheld because a count it uses is hidden.")
    reason: str


class TrendOut(OutModel):
    theme: str | None
    provider: str | None
    min_cell: int
    periods: list[TrendPeriod]
    baseline_rate_per_day: float | None = Field(
        description="Signals per day over the periods before the last one; "
        "null when one of them is hidden (it would reveal the count)."
    )
    baseline_per_period: float | None = Field(
        description="The baseline rate scaled to the last period's length "
        "(its days so far); null when withheld."
    )
    baseline_suppressed: bool = Field(description="True when the baseline figures are withheld.")
    baseline_reason: str | None = Field(description="Why the baseline figures are withheld; null when shown.")
    last_period: TrendPeriod
    rise: TrendRise
