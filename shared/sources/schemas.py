from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AnyHttpUrl, Field, StringConstraints

from shared.schemas import ListParams, OutModel, RecordOut, Slug, StrictModel, Title, not_null
from shared.sources.models import SourceKind

DocNummer = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}D\d{5}$"),
    Field(examples=["2026D07125"], description="TK document number"),
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SourceCreate(StrictModel):
    key: Slug | None = None
    kind: SourceKind
    title: Title
    date: dt.date | None = None
    publisher_party_id: uuid.UUID | None = None
    tk_document_nummer: DocNummer | None = None
    dossier_nummer: Short | None = None
    kamerstuk: Short | None = Field(default=None, examples=["31765 nr. 952"])
    url: AnyHttpUrl | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "key": "tk-2026d07125",
                    "kind": "kamerbrief",
                    "title": "Kabinetsreactie op het onderzoeksrapport van Q-Consult over Fokus",
                    "date": "2026-02-12",
                    "tk_document_nummer": "2026D07125",
                    "dossier_nummer": "31765",
                }
            ]
        }
    }


class SourceUpdate(StrictModel):
    key: Slug | None = None
    kind: SourceKind = not_null()
    title: Title = not_null()
    date: dt.date | None = None
    publisher_party_id: uuid.UUID | None = None
    tk_document_nummer: DocNummer | None = None
    dossier_nummer: Short | None = None
    kamerstuk: Short | None = None
    url: AnyHttpUrl | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"title": "Voortgangsrapportage Fokus 2026", "kamerstuk": "34104-412"}]
        }
    }


class SourceOut(RecordOut, OutModel):
    kind: SourceKind
    title: str
    date: dt.date | None
    publisher_party_id: uuid.UUID | None
    tk_document_nummer: str | None
    dossier_nummer: str | None
    kamerstuk: str | None
    url: str | None
    seed_file: str | None


class SourceFilters(ListParams):
    kind: SourceKind | None = Field(default=None, description="Only sources of this kind.")
    publisher_party_id: uuid.UUID | None = Field(
        default=None, description="Only sources published by this party."
    )
    dossier_nummer: Short | None = Field(default=None, description="Only sources in this Kamerstukdossier.")
    tk_document_nummer: DocNummer | None = Field(
        default=None, description="Only the source with this TK document nummer."
    )
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Case-insensitive substring search in title."
    )
