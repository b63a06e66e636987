"""Schema building blocks: strict input models, common field types, provenance."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80),
    Field(description="Stable natural key (lower-case slug), unique per resource.", examples=["fokus-zzp-afbouw"]),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Section = Annotated[str, StringConstraints(max_length=300)]
Quote = Annotated[str, StringConstraints(max_length=2_000)]
ThemeKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]


class StrictModel(BaseModel):
    """Input model: unknown fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", str_max_length=20_000)


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProvenanceIn(StrictModel):
    source_id: uuid.UUID | None = Field(default=None, description="The source document this record comes from.")
    source_section: Section | None = Field(default=None, description="Section, heading or page in the source.")
    source_quote: Quote | None = Field(default=None, description="A literal quote from the source.")


class ProvenanceOut(OutModel):
    source_id: uuid.UUID | None = None
    source_section: str | None = None
    source_quote: str | None = None


class RecordOut(OutModel):
    id: uuid.UUID
    key: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ListParams(StrictModel):
    """Query parameters every list endpoint accepts; domain filters extend it. Unknown parameters are rejected."""

    limit: Annotated[int, Field(ge=1, le=500, description="Page size (1-500).")] = 50
    cursor: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="`next_cursor` from the previous page.")
    sort: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Sort field; prefix '-' for descending.")
