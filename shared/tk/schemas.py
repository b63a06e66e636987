"""API shapes of the TK mirror, the sync runs and state, and commitment suggestions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from shared.schemas import ListParams, OutModel, StrictModel
from shared.tk.models import Origin, StatusNormalised, SyncRunStatus

Category = Annotated[
    str, StringConstraints(pattern=r"^(?i:Kamerstukdossier|Zaak|Activiteit|Toezegging|Document)$")
]
Nummer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Search = Annotated[str, StringConstraints(max_length=200)]


ORIGIN = (
    "Where this entity comes from: `feed` is the Tweede Kamer's own SyncFeed; `sample` is the "
    "illustrative "
    "snapshot bundled for offline use, not the parliament's record (removed by the category's first "
    "successful live sync)."
)


class RelationOut(OutModel):
    element: str = Field(description="Element name as sent, e.g. `toegezegdAan`.")
    ref: str = Field(description="The `ref` attribute as sent (normally a TK GUID).")


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


class DocumentBrief(OutModel):
    id: uuid.UUID
    nummer: str | None = None
    titel: str | None = None
    onderwerp: str | None = None
    datum: dt.date | None = None
    soort: str | None = None
    origin: Origin = Field(description=ORIGIN)


class ToezeggingOut(OutModel):
    id: uuid.UUID = Field(description="TK GUID.")
    nummer: str | None = Field(default=None, examples=["TZ202511-041"])
    tekst: str | None = None
    status: str | None = Field(default=None, description="Status exactly as the TK sent it.")
    status_normalised: StatusNormalised
    datum_nakoming: dt.date | None = None
    kamerbrief_nakoming: str | None = Field(
        default=None,
        description="documentNummer of the first fulfilment letter (see `kamerbrieven_nakoming`).",
    )
    kamerbrieven_nakoming: list[str] = Field(
        default_factory=list,
        description="documentNummer of every fulfilment letter, in feed order (the live feed sends several "
        "kamerbriefNakoming for one toezegging).",
    )
    kamerbrief_document: DocumentBrief | None = Field(
        default=None, description="The first fulfilment letter, once it is in the mirror."
    )
    kamerbrief_documents: list[DocumentBrief] = Field(
        default_factory=list, description="Every fulfilment letter that is in the mirror, in feed order."
    )
    relations: list[RelationOut] = Field(
        default_factory=list,
        description="Relation elements kept raw: ones the XSD does not list (e.g. repeated `toegezegdAan`) "
        "and repeats of single-valued references.",
    )
    origin: Origin = Field(description=ORIGIN)
    ministerie: str | None = None
    activiteit_id: uuid.UUID | None = None
    activiteit_nummer: str | None = None
    aanmaakdatum: dt.datetime | None = None
    naam: str | None = None
    functie: str | None = None
    bijgewerkt: dt.datetime = Field(description="Last change at the source (UTC).")
    commitment_id: uuid.UUID | None = Field(
        default=None, description="The commitment following this toezegging."
    )

    _lists = field_validator("kamerbrieven_nakoming", "relations", mode="before")(_none_as_empty)


class ToezeggingFilters(ListParams):
    nummer: Nummer | None = Field(default=None, description="Only the toezegging with this TK nummer.")
    ministerie: Search | None = Field(
        default=None, description="Case-insensitive part of the ministry's name."
    )
    status: StatusNormalised | None = Field(default=None, description="Normalised status.")
    status_raw: Search | None = Field(default=None, description="Raw TK status (case-insensitive).")
    q: Search | None = Field(
        default=None, description="Case-insensitive substring search in tekst and nummer."
    )
    changed_since: dt.datetime | None = Field(
        default=None, description="bijgewerkt on or after this instant."
    )
    origin: Origin | None = Field(
        default=None, description="Only `feed` (the parliament's record) or `sample`."
    )


class DocumentOut(OutModel):
    id: uuid.UUID
    nummer: str | None = Field(default=None, examples=["2026D07125"])
    titel: str | None = None
    onderwerp: str | None = None
    datum: dt.date | None = None
    soort: str | None = None
    organisatie: str | None = None
    vergaderjaar: str | None = None
    volgnummer: int | None = None
    content_type: str | None = None
    kamerstukdossier_id: uuid.UUID | None = None
    dossier_nummer: str | None = None
    bron_document_id: uuid.UUID | None = None
    zaak_ids: list[uuid.UUID] = Field(default_factory=list)
    relations: list[RelationOut] = Field(default_factory=list, description="Relation elements kept raw.")
    origin: Origin = Field(description=ORIGIN)
    bijgewerkt: dt.datetime

    _lists = field_validator("relations", mode="before")(_none_as_empty)


class DocumentFilters(ListParams):
    nummer: Nummer | None = Field(default=None, description="Only the document with this TK nummer.")
    dossier: Nummer | None = Field(
        default=None, description="Kamerstukdossier nummer (directly or via a zaak)."
    )
    q: Search | None = Field(
        default=None, description="Case-insensitive substring search in titel and onderwerp."
    )
    changed_since: dt.datetime | None = Field(
        default=None, description="bijgewerkt on or after this instant."
    )
    origin: Origin | None = Field(
        default=None, description="Only `feed` (the parliament's record) or `sample`."
    )


class SuggestionOut(ToezeggingOut):
    matched_terms: list[str] = Field(default_factory=list)


class SuggestionFilters(ListParams):
    status: StatusNormalised | None = Field(default=None, description="Only suggestions with this status.")


class SyncRunRequest(StrictModel):
    categories: list[Category] | None = Field(
        default=None,
        description="Categories to sync; all when omitted.",
        examples=[["Toezegging", "Document"]],
    )

    model_config = {"json_schema_extra": {"examples": [{"categories": ["Toezegging"]}, {}]}}


class EnqueuedSync(OutModel):
    category: str
    job_id: str


class SyncRunAccepted(OutModel):
    enqueued: list[EnqueuedSync]


class SyncRunOut(OutModel):
    id: uuid.UUID
    category: str
    trigger: str
    status: SyncRunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    start_token: int | None = None
    end_token: int | None = None
    pages: int
    entries: int
    upserts: int
    deletes: int
    skipped_older: int
    skipped_irrelevant: int
    unknown_status: int
    unchanged: int = Field(description="Entities re-sent with no field changed (nothing written).")
    quarantined: int = Field(description="Unreadable entities kept raw (GET /v1/sync/quarantine).")
    fetched: int = Field(description="Skipped documents fetched by id because they became relevant.")
    errors: int
    error: str | None = None


class SyncRunFilters(ListParams):
    category: Category | None = Field(default=None, description="Only runs of this feed category.")
    status: SyncRunStatus | None = Field(default=None, description="Only runs with this outcome.")


class SyncStateOut(OutModel):
    category: str
    skiptoken: int | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    pages: int = 0
    entries: int = 0
    upserts: int = 0
    deletes: int = 0
    skipped_older: int = 0
    skipped_irrelevant: int = 0
    unknown_status: int = 0
    unchanged: int = Field(default=0, description="Entities re-sent with no field changed.")
    quarantined: int = Field(
        default=0,
        description="Unreadable entities of this category kept raw in "
        "quarantine; list them with GET /v1/sync/quarantine.",
    )
    fetched: int = Field(default=0, description="Skipped documents fetched by id at the end of its runs.")
    has_samples: bool = Field(
        default=False,
        description="The category still holds entities of the bundled "
        "sample snapshot (origin `sample`); its first "
        "successful live sync removes them.",
    )


class SyncStateList(OutModel):
    items: list[SyncStateOut]
    next_cursor: str | None = None
    documents_wanted: int = Field(
        default=0,
        description="Skipped documents that became relevant and wait "
        "to be fetched by id (at the end of the next run).",
    )


class QuarantineOut(OutModel):
    id: uuid.UUID
    category: str
    skiptoken: int = Field(description="Feed position of the entry (the checkpoint moved past it).")
    entity_id: str | None = Field(
        default=None, description="The entity's id attribute as sent (possibly the unreadable part)."
    )
    kind: str | None = None
    reason: str = Field(description="Why the parser could not read it.")
    raw: str = Field(description="The feed entry as received (XML).")
    origin: Origin = Field(description=ORIGIN)
    quarantined_at: dt.datetime


class QuarantineFilters(ListParams):
    category: Category | None = Field(default=None, description="Only entities of this feed category.")
