"""API shapes of the TK mirror, the sync runs and state, and commitment suggestions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.schemas import ListParams, OutModel, StrictModel
from shared.tk.models import StatusNormalised, SyncRunStatus

Category = Annotated[str, StringConstraints(pattern=r"^(?i:Kamerstukdossier|Zaak|Activiteit|Toezegging|Document)$")]
Nummer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Search = Annotated[str, StringConstraints(max_length=200)]


class DocumentBrief(OutModel):
    id: uuid.UUID
    nummer: str | None = None
    titel: str | None = None
    onderwerp: str | None = None
    datum: dt.date | None = None
    soort: str | None = None


class ToezeggingOut(OutModel):
    id: uuid.UUID = Field(description="TK GUID.")
    nummer: str | None = Field(default=None, examples=["TZ202511-041"])
    tekst: str | None = None
    status: str | None = Field(default=None, description="Status exactly as the TK sent it.")
    status_normalised: StatusNormalised
    datum_nakoming: dt.date | None = None
    kamerbrief_nakoming: str | None = Field(default=None, description="documentNummer of the fulfilment letter.")
    kamerbrief_document: DocumentBrief | None = Field(
        default=None, description="The fulfilment letter, once it is in the mirror.")
    ministerie: str | None = None
    activiteit_id: uuid.UUID | None = None
    activiteit_nummer: str | None = None
    aanmaakdatum: dt.datetime | None = None
    naam: str | None = None
    functie: str | None = None
    bijgewerkt: dt.datetime = Field(description="Last change at the source (UTC).")
    commitment_id: uuid.UUID | None = Field(default=None, description="The commitment following this toezegging.")


class ToezeggingFilters(ListParams):
    nummer: Nummer | None = None
    ministerie: Search | None = Field(default=None, description="Case-insensitive part of the ministry's name.")
    status: StatusNormalised | None = Field(default=None, description="Normalised status.")
    status_raw: Search | None = Field(default=None, description="Raw TK status (case-insensitive).")
    q: Search | None = Field(default=None, description="Text search in tekst and nummer.")
    changed_since: dt.datetime | None = Field(default=None, description="bijgewerkt on or after this instant.")


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
    bijgewerkt: dt.datetime


class DocumentFilters(ListParams):
    nummer: Nummer | None = None
    dossier: Nummer | None = Field(default=None, description="Kamerstukdossier nummer (directly or via a zaak).")
    q: Search | None = Field(default=None, description="Text search in titel and onderwerp.")
    changed_since: dt.datetime | None = None


class SuggestionOut(ToezeggingOut):
    matched_terms: list[str] = Field(default_factory=list)


class SuggestionFilters(ListParams):
    status: StatusNormalised | None = Field(default=None, description="Only suggestions with this status.")


class SyncRunRequest(StrictModel):
    categories: list[Category] | None = Field(
        default=None, description="Categories to sync; all when omitted.", examples=[["Toezegging", "Document"]])


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
    errors: int
    error: str | None = None


class SyncRunFilters(ListParams):
    category: Category | None = None
    status: SyncRunStatus | None = None


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


class SyncStateList(OutModel):
    items: list[SyncStateOut]
    next_cursor: str | None = None
