from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.schemas import (
    ListParams,
    LongText,
    OutModel,
    ProvenanceIn,
    ProvenanceOut,
    RecordOut,
    Slug,
    ThemeKey,
    Title,
    not_null,
)
from shared.status.schemas import Reasons
from shared.status.vocabulary import Status


class RecommendationCreate(ProvenanceIn):
    key: Slug | None = None
    title: Title
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    addressee_party_id: uuid.UUID | None = None
    theme_key: ThemeKey | None = None
    response: LongText | None = None
    response_source_id: uuid.UUID | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Bouw de afhankelijkheid van zzp'ers af",
                    "text": "Zet in op vaste teams.",
                    "theme_key": "inzet-zzp-flex",
                }
            ]
        }
    }


class RecommendationUpdate(ProvenanceIn):
    key: Slug | None = None
    title: Title = not_null()
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] = not_null()
    addressee_party_id: uuid.UUID | None = None
    theme_key: ThemeKey | None = None
    response: LongText | None = None
    response_source_id: uuid.UUID | None = None

    model_config = {
        "json_schema_extra": {"examples": [{"response": "Het ministerie neemt de aanbeveling over."}]}
    }


class RecommendationOut(ProvenanceOut, RecordOut, OutModel):
    title: str
    text: str
    addressee_party_id: uuid.UUID | None
    theme_key: str | None
    response: str | None
    response_source_id: uuid.UUID | None
    status: Status = Field(description="Roll-up of its commitments and actions (status engine).")
    reasons: Reasons = Field(default_factory=list, description="Why: its commitments and actions.")


class RecommendationFilters(ListParams):
    addressee_party_id: uuid.UUID | None = Field(
        default=None, description="Only recommendations addressed to this party."
    )
    theme: ThemeKey | None = Field(default=None, description="Only recommendations on this theme.")
    source_id: uuid.UUID | None = Field(default=None, description="Only recommendations from this source.")
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Case-insensitive substring search in title and text."
    )
