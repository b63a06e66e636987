"""Read side of the mirror for the API: filters, rendering with resolved relations, suggestions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import NotFound
from shared.search import like_any
from shared.settings import Settings
from shared.tk.categories import CATEGORIES, canonical_category
from shared.tk.ingest import terms_pattern
from shared.tk.models import (
    DOCUMENT_SEARCH,
    TOEZEGGING_SEARCH,
    TkDocument,
    TkQuarantine,
    TkSyncRun,
    TkToezegging,
)
from shared.tk.repository import (
    DocumentRepository,
    QuarantineRepository,
    SyncRunRepository,
    SyncStateRepository,
    ToezeggingRepository,
    documents_wanted,
)
from shared.tk.schemas import (
    DocumentBrief,
    DocumentFilters,
    DocumentOut,
    QuarantineFilters,
    SuggestionFilters,
    SuggestionOut,
    SyncRunFilters,
    SyncStateOut,
    ToezeggingFilters,
    ToezeggingOut,
)

Listing = tuple[list[Any], str | None]


class TkQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.toezeggingen = ToezeggingRepository(session)
        self.documents = DocumentRepository(session)

    async def _render_toezeggingen(
        self, rows: list[TkToezegging], model: type[ToezeggingOut] = ToezeggingOut
    ) -> list[Any]:
        letters = await self.toezeggingen.documents_by_id(r.kamerbrief_document_id for r in rows)
        by_nummer = await self.toezeggingen.documents_by_nummer(
            n for r in rows for n in r.kamerbrieven_nakoming or ()
        )
        linked = await self.toezeggingen.linked_commitments(r.nummer for r in rows)
        out = []
        for row in rows:
            item = model.model_validate(row)
            letter = letters.get(row.kamerbrief_document_id) if row.kamerbrief_document_id else None
            item.kamerbrief_document = (
                DocumentBrief.model_validate(letter) if letter and not letter.verwijderd else None
            )
            named = dict.fromkeys(row.kamerbrieven_nakoming or ())
            item.kamerbrief_documents = [
                DocumentBrief.model_validate(by_nummer[n]) for n in named if n in by_nummer
            ]
            item.commitment_id = linked.get(row.nummer or "")
            out.append(item)
        return out

    async def list_toezeggingen(self, params: ToezeggingFilters) -> Listing:
        c: list[Any] = []
        if params.nummer:
            c.append(TkToezegging.nummer == params.nummer)
        if params.ministerie:
            c.append(like_any(params.ministerie, TkToezegging.ministerie))
        if params.status:
            c.append(TkToezegging.status_normalised == params.status)
        if params.status_raw:
            c.append(func.lower(TkToezegging.status) == params.status_raw.strip().lower())
        if params.q:
            c.append(TOEZEGGING_SEARCH.match(params.q))
        if params.changed_since:
            c.append(TkToezegging.bijgewerkt >= params.changed_since)
        if params.origin:
            c.append(TkToezegging.origin == params.origin.value)
        rows, cursor = await self.toezeggingen.list(
            c, sort=params.sort, cursor=params.cursor, limit=params.limit
        )
        return await self._render_toezeggingen(rows), cursor

    async def get_toezegging(self, nummer: str) -> ToezeggingOut:
        row = await self.toezeggingen.by_nummer(nummer)
        if row is None:
            raise NotFound(f"No toezegging with nummer {nummer!r} in the mirror.")
        return (await self._render_toezeggingen([row]))[0]

    async def list_documents(self, params: DocumentFilters) -> Listing:
        c: list[Any] = []
        if params.nummer:
            c.append(TkDocument.nummer == params.nummer)
        if params.dossier:
            c.append(self.documents.in_dossier(params.dossier))
        if params.q:
            c.append(DOCUMENT_SEARCH.match(params.q))
        if params.changed_since:
            c.append(TkDocument.bijgewerkt >= params.changed_since)
        if params.origin:
            c.append(TkDocument.origin == params.origin.value)
        rows, cursor = await self.documents.list(
            c, sort=params.sort, cursor=params.cursor, limit=params.limit
        )
        zaken = await self.documents.zaken_of(r.id for r in rows)
        dossiers = await self.documents.dossier_nummers(r.kamerstukdossier_id for r in rows)
        items = []
        for row in rows:
            item = DocumentOut.model_validate(row)
            item.zaak_ids = zaken.get(row.id, [])
            item.dossier_nummer = dossiers.get(row.kamerstukdossier_id) if row.kamerstukdossier_id else None
            items.append(item)
        return items, cursor

    async def suggestions(self, params: SuggestionFilters, settings: Settings) -> Listing:
        """Toezeggingen of the watched ministry matching the watched terms that no commitment follows yet."""
        c = self.toezeggingen.suggestion_conditions(settings.tk_suggestion_ministerie, settings.tk_terms)
        if params.status:
            c.append(TkToezegging.status_normalised == params.status)
        rows, cursor = await self.toezeggingen.list(
            c, sort=params.sort, cursor=params.cursor, limit=params.limit
        )
        pattern = terms_pattern(settings.tk_terms)
        items = await self._render_toezeggingen(rows, SuggestionOut)
        for item in items:
            found = pattern.findall(item.tekst or "") if pattern else []
            item.matched_terms = sorted(set(found), key=str.lower)
        return items, cursor

    async def list_runs(self, params: SyncRunFilters) -> Listing:
        c: list[Any] = []
        if params.category:
            c.append(TkSyncRun.category == canonical_category(params.category))
        if params.status:
            c.append(TkSyncRun.status == params.status)
        return await SyncRunRepository(self.session).list(
            c, sort=params.sort, cursor=params.cursor, limit=params.limit
        )

    async def state(self) -> list[SyncStateOut]:
        stored = {s.category: s for s in await SyncStateRepository(self.session).all()}
        return [
            SyncStateOut.model_validate(stored[c]) if c in stored else SyncStateOut(category=c)
            for c in CATEGORIES
        ]

    async def documents_wanted(self) -> int:
        return await documents_wanted(self.session)

    async def quarantine(self, params: QuarantineFilters) -> Listing:
        c: list[Any] = []
        if params.category:
            c.append(TkQuarantine.category == canonical_category(params.category))
        return await QuarantineRepository(self.session).list(
            c, sort=params.sort, cursor=params.cursor, limit=params.limit
        )
