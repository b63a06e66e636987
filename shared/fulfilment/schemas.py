from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AnyHttpUrl, Field, StringConstraints, model_validator

from shared.fulfilment.models import FulfilmentKind, ReviewDecision
from shared.schemas import AuthoredOut, LongText, OutModel, StrictModel

DocumentNummer = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\d{4}D\d{3,6}$"),
    Field(description="Tweede Kamer document number.", examples=["2026D07125"]),
]


class EvidenceItem(StrictModel):
    """One piece of evidence: exactly one of url, tk_document_nummer and source_id, with an optional note."""

    url: AnyHttpUrl | None = Field(default=None, description="A public document (http or https).")
    tk_document_nummer: DocumentNummer | None = None
    source_id: uuid.UUID | None = Field(default=None, description="A source document in this API.")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EvidenceItem:
        given = [v for v in (self.url, self.tk_document_nummer, self.source_id) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of url, tk_document_nummer and source_id")
        return self


class EvidenceItemOut(OutModel):
    url: str | None = None
    tk_document_nummer: str | None = None
    source_id: uuid.UUID | None = None
    note: str | None = None


def stored_evidence(items: list[dict[str, object]]) -> list[dict[str, str]]:
    """Evidence items as stored (JSON): the fields given, as text (urls and ids included)."""
    return [{k: str(v) for k, v in item.items() if v is not None} for item in items]


EvidenceList = Annotated[list[EvidenceItem], Field(min_length=1, max_length=50)]


class FulfilmentIn(StrictModel):
    kind: FulfilmentKind
    date: dt.date = Field(description="When it was fulfilled (or reported as fulfilled).")
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    evidence: EvidenceList
    period_start: dt.date | None = Field(
        default=None,
        description="Recurring commitments only (and required there): the start date of the period "
        "this record fulfils.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "fulfilled",
                    "date": "2026-07-01",
                    "summary": "Alle ADL-assistenten zijn per 1 juli 2026 in loondienst; er werken geen zzp'ers meer.",
                    "evidence": [{"url": "https://www.fokus.nl/nieuws/alle-adl-assistenten-in-loondienst"}],
                }
            ]
        }
    }


class ReviewIn(StrictModel):
    decision: ReviewDecision
    note: LongText | None = None

    model_config = {
        "json_schema_extra": {"examples": [{"decision": "accepted", "note": "Brief ontvangen en besproken."}]}
    }


class FulfilmentOut(AuthoredOut):
    id: uuid.UUID
    commitment_id: uuid.UUID
    period_start: dt.date | None
    period_end: dt.date | None = None
    kind: FulfilmentKind
    date: dt.date
    summary: str
    evidence: list[EvidenceItemOut]
    recorded_by: str | None
    review: ReviewDecision | None = Field(
        alias="review_decision",
        serialization_alias="review",
        description="null until the party it was made to (or an admin) reviews.",
    )
    review_note: str | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
