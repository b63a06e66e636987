"""Applying one parsed page to the mirror, inside the caller's transaction.

Within a page the newest version of each entity wins; against the database the stored version wins when it
is newer (the feed re-emits old versions), and a version that changes no field writes nothing, counts as
`unchanged` and recalculates nothing (the feed re-emits thousands of entities after its own corrections).
Documents are filtered for relevance, but every document lands in a thin index (id, nummer, dossier, zaken of
skipped ones), so a document skipped before its dossier, zaak or toezegging was mirrored is wanted again, and
fetched by id, once it is. An entity the parser could not read is kept raw in quarantine; its page goes on.
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
from shared.events.service import EventType, NewEvent, emit_many
from shared.tk.categories import ENTITY_TAGS
from shared.tk.models import Origin
from shared.tk.parse import FIELDS, MULTI, REFS, FeedEntry, ParsedEntry, Quarantined
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
    async def load(
        cls, session: AsyncSession, *, dossiers: Sequence[str], terms: Sequence[str], soorten: Sequence[str]
    ) -> DocumentRelevance:
        repo = MirrorRepository(session)
        dossier_ids = await repo.dossier_ids(dossiers)
        return cls(
            dossier_ids=dossier_ids,
            zaak_ids=await repo.zaak_ids_in(dossier_ids),
            brief_nummers=await repo.kamerbrief_nummers(),
            soorten={s.lower() for s in soorten},
            terms=terms_pattern(terms),
        )

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
    wanted: int = 0  # skipped documents this page made relevant (queued to fetch by id)

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


def _row(entry: FeedEntry, now: Any, columns: Sequence[str], origin: str) -> dict[str, Any]:
    row = dict.fromkeys(columns)
    row.update(entry.values)
    row.update(
        id=entry.id,
        bijgewerkt=entry.bijgewerkt,
        verwijderd=False,
        skiptoken=entry.token,
        synced_at=now,
        origin=origin,
    )
    return row


def _content_columns(kind: str) -> list[str]:
    columns = [column for column, _ in FIELDS[kind].values()] + list(REFS[kind].values()) + ["relations"]
    columns += [many for many, _ in MULTI.get(kind, {}).values()]
    if kind == "document":
        columns += ["content_type", "content_length"]
    return columns


async def apply_page(
    session: AsyncSession,
    category: str,
    entries: Sequence[ParsedEntry],
    relevance: DocumentRelevance | None,
    *,
    origin: str = Origin.feed.value,
    watched_dossiers: Sequence[str] = (),
) -> PageOutcome:
    """`relevance` None keeps every document (one fetched by id is wanted by definition)."""
    outcome = PageOutcome()
    outcome.bump("entries", len(entries))
    repo = MirrorRepository(session)
    quarantined = [e for e in entries if isinstance(e, Quarantined)]
    if quarantined:
        await repo.quarantine(category, quarantined, origin)
        outcome.bump("quarantined", len(quarantined))
        for item in quarantined:
            log.warning("tk_entity_quarantined", category=category, skiptoken=item.token, reason=item.reason)
    readable = [e for e in entries if isinstance(e, FeedEntry) and e.kind in FIELDS]
    outcome.bump("skipped_irrelevant", len(entries) - len(quarantined) - len(readable))
    latest, superseded = _latest_versions(readable)
    outcome.bump("skipped_older", superseded)
    kind = ENTITY_TAGS[category]
    ours = [e for e in latest if e.kind == kind]  # a category holds one kind; anything else is not ours
    outcome.bump("skipped_irrelevant", len(latest) - len(ours))
    latest = ours
    if not latest:
        return outcome

    live_feed = origin == Origin.feed.value
    if kind == "document":
        # Only feed documents are indexed: the sample's illustrative GUIDs are not worth fetching later.
        indexed = await repo.index_documents(latest) if live_feed else set()
        latest = await _relevant_documents(repo, latest, relevance, outcome, indexed)

    now = utcnow()
    columns = _content_columns(kind)
    live_rows, dead_rows, links = [], [], {}
    for entry in latest:
        if entry.verwijderd:
            dead_rows.append(
                {
                    "id": entry.id,
                    "bijgewerkt": entry.bijgewerkt,
                    "verwijderd": True,
                    "skiptoken": entry.token,
                    "synced_at": now,
                    "origin": origin,
                }
            )
            continue
        row = _row(entry, now, columns, origin)
        if kind == "toezegging":
            status, known = normalise_status(row.get("status"))
            row["status_normalised"] = status
            if not known:
                outcome.bump("unknown_status")
                log.warning("tk_unknown_status", nummer=row.get("nummer"), status=row.get("status"))
        live_rows.append(row)
        if kind == "document":
            links[entry.id] = entry.zaak_ids

    written_live = await repo.upsert(kind, live_rows)
    written_dead = await repo.upsert(kind, dead_rows)
    outcome.bump("upserts", len(written_live))
    outcome.bump("deletes", len(written_dead))
    await _count_not_written(repo, kind, latest, {r.id for r in (*written_live, *written_dead)}, outcome)

    wanted: dict[uuid.UUID, str] = {}
    if kind == "document":
        written_ids = {row.id for row in written_live}
        await repo.replace_document_zaken({k: v for k, v in links.items() if k in written_ids})
        nummers = [row.nummer for row in (*written_live, *written_dead) if row.nummer]
        await repo.resolve_kamerbrieven(document_nummers=nummers)
        touched = await repo.toezeggingen_naming(nummers)
    elif kind == "toezegging":
        written_ids = {row.id for row in written_live}
        letters = {r["id"]: r["kamerbrieven_nakoming"] or [] for r in live_rows if r["id"] in written_ids}
        await repo.replace_brieven(letters)
        await repo.resolve_kamerbrieven(toezegging_ids=list(written_ids))
        touched = [row.nummer for row in (*written_live, *written_dead) if row.nummer]
        await _announce(session, repo, written_live, written_dead)
        if live_feed:
            named = sorted({n for names in letters.values() for n in names})
            missing = await repo.missing_documents(nummers=named)
            wanted.update(dict.fromkeys(missing, "named as fulfilment letter"))
    else:
        touched = []
        if live_feed and kind in ("kamerstukdossier", "zaak") and written_live:
            wanted.update(await _newly_relevant(repo, kind, written_live, watched_dossiers))
    if wanted:
        await repo.want_documents(wanted)
        outcome.wanted = len(wanted)
    if touched:
        for commitment_id in await repo.commitments_following(touched):
            commitment_changed(session, commitment_id)
            outcome.commitments.add(commitment_id)
    return outcome


async def _announce(
    session: AsyncSession, repo: MirrorRepository, live: Sequence[Any], dead: Sequence[Any]
) -> None:
    """`tk.toezegging.changed` for each toezegging written: upsert writes only material changes, so an entity the
    TK re-emits unchanged announces nothing."""
    rows = [(row, False) for row in live if row.nummer] + [(row, True) for row in dead if row.nummer]
    following = await repo.commitments_by_nummer(row.nummer for row, _ in rows)
    await emit_many(
        session,
        [
            NewEvent(
                EventType.tk_toezegging_changed,
                f"/v1/tk/toezeggingen/{row.nummer}",
                {
                    "nummer": row.nummer,
                    "toezegging_id": str(row.id),
                    "deleted": deleted,
                    "commitment_ids": [str(cid) for cid in following.get(row.nummer, [])],
                },
            )
            for row, deleted in rows
        ],
    )


async def _count_not_written(
    repo: MirrorRepository, kind: str, entries: list[FeedEntry], written: set[uuid.UUID], outcome: PageOutcome
) -> None:
    """An entity not written is either older than the stored version or the same in every field."""
    rest = [e for e in entries if e.id not in written]
    if not rest:
        return
    stored = await repo.stored_versions(kind, [e.id for e in rest])
    older = sum(1 for e in rest if e.id in stored and stored[e.id] > e.bijgewerkt)
    outcome.bump("skipped_older", older)
    outcome.bump("unchanged", len(rest) - older)


async def _newly_relevant(
    repo: MirrorRepository, kind: str, written: Sequence[Any], watched: Sequence[str]
) -> dict[uuid.UUID, str]:
    """Skipped documents that a written dossier or zaak makes relevant (their dossier is watched)."""
    if not watched:
        return {}
    watched_ids = await repo.dossier_ids(watched)
    if kind == "kamerstukdossier":
        dossiers = [row.id for row in written if row.id in watched_ids]
        if not dossiers:
            return {}
        zaken = await repo.zaak_ids_in(dossiers)
        found = await repo.missing_documents(dossier_ids=dossiers, zaak_ids=zaken)
        return dict.fromkeys(found, "in a watched dossier")
    linked = await repo.zaken_in_dossiers([row.id for row in written], watched_ids)
    if not linked:
        return {}
    return dict.fromkeys(await repo.missing_documents(zaak_ids=linked), "on a zaak of a watched dossier")


async def _relevant_documents(
    repo: MirrorRepository,
    entries: list[FeedEntry],
    relevance: DocumentRelevance | None,
    outcome: PageOutcome,
    indexed: set[uuid.UUID],
) -> list[FeedEntry]:
    # Updates and deletes of documents we already hold always apply, whatever their content now says.
    held = await repo.existing_ids("document", [e.id for e in entries])
    kept, skipped = [], []
    for e in entries:
        if e.id in held or (not e.verwijderd and (relevance is None or relevance.keep(e))):
            kept.append(e)
        else:
            skipped.append(e)
    outcome.bump("skipped_irrelevant", len(skipped))
    # Zaak references of skipped documents whose index entry this version wrote (kept ones have
    # tk_document_zaken).
    await repo.index_zaken({e.id: e.zaak_ids for e in skipped if e.id in indexed and not e.verwijderd})
    return kept
