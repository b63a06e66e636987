"""Applying one parsed page to the mirror, inside the caller's transaction.

Within a page the newest version of each entity wins; against the database the stored version wins
when it is newer (the feed re-emits old versions). Documents are filtered for relevance first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.events import commitment_changed
from shared.db import utcnow
from shared.tk.parse import FIELDS, REFS, FeedEntry
from shared.tk.repository import MirrorRepository
from shared.tk.values import normalise_status

log = structlog.get_logger("nakoming.tk.sync")


def terms_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    cleaned = [t.strip() for t in terms if t.strip()]
    if not cleaned:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in cleaned) + r")", re.IGNORECASE)


@dataclass
class DocumentRelevance:
    """Which documents we keep: watched dossiers (directly or via a zaak in one), fulfilment letters
    named by a toezegging, configured document kinds, and titles or subjects matching the terms."""

    dossier_ids: set[uuid.UUID] = field(default_factory=set)
    zaak_ids: set[uuid.UUID] = field(default_factory=set)
    brief_nummers: set[str] = field(default_factory=set)
    soorten: set[str] = field(default_factory=set)
    terms: re.Pattern[str] | None = None

    @classmethod
    async def load(cls, session: AsyncSession, *, dossiers: Sequence[str], terms: Sequence[str],
                   soorten: Sequence[str]) -> "DocumentRelevance":
        repo = MirrorRepository(session)
        dossier_ids = await repo.dossier_ids(dossiers)
        return cls(dossier_ids=dossier_ids, zaak_ids=await repo.zaak_ids_in(dossier_ids),
                   brief_nummers=await repo.kamerbrief_nummers(),
                   soorten={s.lower() for s in soorten}, terms=terms_pattern(terms))

    def keep(self, entry: FeedEntry) -> bool:
        values = entry.values
        if values.get("kamerstukdossier_id") in self.dossier_ids:
            return True
        if self.zaak_ids and any(z in self.zaak_ids for z in entry.zaak_ids):
            return True
        if values.get("nummer") in self.brief_nummers:
            return True
        soort = values.get("soort")
        if soort and soort.lower() in self.soorten:
            return True
        if self.terms is not None:
            for name in ("titel", "onderwerp"):
                text = values.get(name)
                if text and self.terms.search(text):
                    return True
        return False


@dataclass
class PageOutcome:
    counts: dict[str, int] = field(default_factory=dict)
    commitments: set[uuid.UUID] = field(default_factory=set)

    def bump(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by


def _latest_versions(entries: Sequence[FeedEntry]) -> tuple[list[FeedEntry], int]:
    """Keep the newest version per GUID (later in the feed wins a tie); returns it and how many lost."""
    latest: dict[uuid.UUID, FeedEntry] = {}
    for entry in entries:
        held = latest.get(entry.id)
        if held is None or entry.bijgewerkt >= held.bijgewerkt:
            latest[entry.id] = entry
    return list(latest.values()), len(entries) - len(latest)


def _row(kind: str, entry: FeedEntry, now: Any, columns: Sequence[str]) -> dict[str, Any]:
    row = dict.fromkeys(columns)
    row.update(entry.values)
    row.update(id=entry.id, bijgewerkt=entry.bijgewerkt, verwijderd=False, skiptoken=entry.token, synced_at=now)
    return row


def _content_columns(kind: str) -> list[str]:
    columns = [column for column, _ in FIELDS[kind].values()] + list(REFS[kind].values())
    if kind == "document":
        columns += ["content_type", "content_length"]
    return columns


async def apply_page(session: AsyncSession, category: str, entries: Sequence[FeedEntry],
                     relevance: DocumentRelevance | None) -> PageOutcome:
    outcome = PageOutcome()
    outcome.bump("entries", len(entries))
    readable = [e for e in entries if e.kind in FIELDS]
    outcome.bump("skipped_irrelevant", len(entries) - len(readable))
    latest, superseded = _latest_versions(readable)
    outcome.bump("skipped_older", superseded)
    if not latest:
        return outcome
    repo = MirrorRepository(session)
    kind = latest[0].kind
    latest = [e for e in latest if e.kind == kind]  # a category holds one kind; anything else is not ours

    if kind == "document":
        latest = await _relevant_documents(repo, latest, relevance, outcome)

    now = utcnow()
    columns = _content_columns(kind)
    live_rows, dead_rows, links = [], [], {}
    for entry in latest:
        if entry.verwijderd:
            dead_rows.append({"id": entry.id, "bijgewerkt": entry.bijgewerkt, "verwijderd": True,
                              "skiptoken": entry.token, "synced_at": now})
            continue
        row = _row(kind, entry, now, columns)
        if kind == "toezegging":
            status, known = normalise_status(row.get("status"))
            row["status_normalised"] = status
            if not known:
                outcome.bump("unknown_status")
                log.warning("tk_unknown_status", nummer=row.get("nummer"), status=row.get("status"))
        live_rows.append(row)
        if kind == "document":
            links[entry.id] = entry.zaak_ids

    written_live = await repo.upsert(kind, live_rows, tombstones=False)
    written_dead = await repo.upsert(kind, dead_rows, tombstones=True)
    outcome.bump("upserts", len(written_live))
    outcome.bump("deletes", len(written_dead))
    outcome.bump("skipped_older", len(live_rows) + len(dead_rows) - len(written_live) - len(written_dead))

    if kind == "document":
        written_ids = {row.id for row in written_live}
        await repo.replace_document_zaken({k: v for k, v in links.items() if k in written_ids})
        nummers = [row.nummer for row in (*written_live, *written_dead) if row.nummer]
        touched = await repo.resolve_kamerbrieven(document_nummers=nummers)
    elif kind == "toezegging":
        await repo.resolve_kamerbrieven(toezegging_ids=[row.id for row in written_live])
        touched = [row.nummer for row in (*written_live, *written_dead) if row.nummer]
    else:
        touched = []
    if touched:
        for commitment_id in await repo.commitments_following(touched):
            commitment_changed(session, commitment_id)
            outcome.commitments.add(commitment_id)
    return outcome


async def _relevant_documents(repo: MirrorRepository, entries: list[FeedEntry],
                              relevance: DocumentRelevance | None, outcome: PageOutcome) -> list[FeedEntry]:
    # Updates and deletes of documents we already hold always apply, whatever their content now says.
    held = await repo.existing_ids("document", [e.id for e in entries])
    kept = [e for e in entries
            if e.id in held or (not e.verwijderd and (relevance is None or relevance.keep(e)))]
    outcome.bump("skipped_irrelevant", len(entries) - len(kept))
    return kept

