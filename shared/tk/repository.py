"""Every query of the TK mirror: bulk upserts that never let an older version win, the checkpoint, runs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.models import Commitment
from shared.crud import Repository
from shared.db import rowcount, utcnow
from shared.pagination import SortField, Sorting
from shared.search import like_any
from shared.tk.models import (
    Origin,
    SyncRunStatus,
    TkActiviteit,
    TkDocument,
    TkDocumentFetch,
    TkDocumentIndex,
    TkKamerstukdossier,
    TkQuarantine,
    TkSyncRun,
    TkSyncState,
    TkToezegging,
    TkZaak,
    tk_document_index_zaken,
    tk_document_zaken,
    tk_toezegging_brieven,
)
from shared.tk.parse import Quarantined

MODELS: dict[str, Any] = {
    "toezegging": TkToezegging,
    "document": TkDocument,
    "zaak": TkZaak,
    "activiteit": TkActiviteit,
    "kamerstukdossier": TkKamerstukdossier,
}

# Columns that say where and when a version was seen, not what it says: a change in them alone is no change.
_BOOKKEEPING = ("id", "bijgewerkt", "skiptoken", "synced_at")
COUNTERS = (
    "pages",
    "entries",
    "upserts",
    "deletes",
    "skipped_older",
    "skipped_irrelevant",
    "unknown_status",
    "unchanged",
    "quarantined",
    "fetched",
)
_RAW_LIMIT = 1_000_000  # characters of a quarantined entry kept (an entity is a few KB; bounds a freak one)

# SQLite's default limit is 32766 bound parameters per statement.
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _keep_when_deleted(column: Any, new: Any) -> Any:
    return case((new.verwijderd.is_(True), column), else_=new[column.name])


def _dialect_insert(session: AsyncSession, table: Table) -> Any:
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


class MirrorRepository:
    """Writes of the sync: one instance per page transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, kind: str, rows: list[dict[str, Any]]) -> list[Any]:
        """Insert or update by GUID; returns (id, nummer) of the rows written.

        An update is written only when it changes something (material change) and the stored version is not
        newer; a feed version always replaces a sample one and a sample never replaces a feed one. Live rows
        replace every content column (a feed version is the whole entity); tombstones only mark the row
        deleted, so the last known content stays for history.
        """
        if not rows:
            return []
        table: Table = MODELS[kind].__table__
        columns = list(rows[0].keys())
        written: list[Any] = []
        for chunk in _chunks(rows):
            stmt = _dialect_insert(self.session, table)
            new = stmt.excluded
            changed = or_(
                *(table.c[name].is_distinct_from(new[name]) for name in columns if name not in _BOOKKEEPING)
            )
            feed_over_sample = and_(table.c.origin == Origin.sample.value, new.origin == Origin.feed.value)
            sample_over_feed = and_(table.c.origin == Origin.feed.value, new.origin == Origin.sample.value)
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={name: new[name] for name in columns if name != "id"},
                where=or_(
                    feed_over_sample, and_(table.c.bijgewerkt <= new.bijgewerkt, changed, ~sample_over_feed)
                ),
            ).returning(table.c.id, table.c.nummer)
            result = await self.session.execute(stmt, list(chunk))
            written.extend(result.all())
        return written

    async def stored_versions(self, kind: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dt.datetime]:
        model = MODELS[kind]
        found: dict[uuid.UUID, dt.datetime] = {}
        for chunk in _chunks(list(ids)):
            stmt = select(model.id, model.bijgewerkt).where(model.id.in_(chunk))
            found.update((await self.session.execute(stmt)).tuples().all())
        return found

    async def quarantine(self, category: str, items: Sequence[Quarantined], origin: str) -> None:
        """Keep unreadable entities raw with their reason; the same feed position is kept once."""
        now = utcnow()
        rows = [
            {
                "id": uuid.uuid4(),
                "category": category,
                "skiptoken": q.token,
                "entity_id": q.entity_id,
                "kind": q.kind,
                "reason": q.reason[:2000],
                "raw": q.raw[:_RAW_LIMIT],
                "origin": origin,
                "quarantined_at": now,
            }
            for q in items
        ]
        for chunk in _chunks(rows):
            stmt = _dialect_insert(self.session, TkQuarantine.__table__).on_conflict_do_nothing(
                index_elements=["category", "skiptoken"]
            )
            await self.session.execute(stmt, list(chunk))

    # Thin document index and documents wanted by id -------------------------------------
    async def index_documents(self, entries: Sequence[Any]) -> set[uuid.UUID]:
        """Index every document version (kept or skipped) unless a newer one is; returns ids written."""
        table = TkDocumentIndex.__table__
        rows = [
            {
                "id": e.id,
                "nummer": e.values.get("nummer"),
                "kamerstukdossier_id": e.values.get("kamerstukdossier_id"),
                "bijgewerkt": e.bijgewerkt,
                "verwijderd": e.verwijderd,
            }
            for e in entries
        ]
        written: set[uuid.UUID] = set()
        for chunk in _chunks(rows):
            stmt = _dialect_insert(self.session, table)
            new = stmt.excluded
            # A tombstone keeps the nummer and dossier it had, so a deleted document is still known by them.
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={
                    "bijgewerkt": new.bijgewerkt,
                    "verwijderd": new.verwijderd,
                    "nummer": _keep_when_deleted(table.c.nummer, new),
                    "kamerstukdossier_id": _keep_when_deleted(table.c.kamerstukdossier_id, new),
                },
                where=table.c.bijgewerkt < new.bijgewerkt,
            ).returning(table.c.id)
            written.update((await self.session.execute(stmt, list(chunk))).scalars())
        return written

    async def index_zaken(self, links: dict[uuid.UUID, list[uuid.UUID]]) -> None:
        await self._replace_links(tk_document_index_zaken, "document_id", "zaak_id", links)

    async def missing_documents(
        self,
        *,
        nummers: Sequence[str] = (),
        dossier_ids: Iterable[uuid.UUID] = (),
        zaak_ids: Iterable[uuid.UUID] = (),
    ) -> list[uuid.UUID]:
        """Indexed, not deleted, not in the mirror: documents by nummer, dossier or zaak that were skipped."""
        ix = TkDocumentIndex.__table__.c
        conditions = []
        for chunk in _chunks(sorted(set(nummers))):
            conditions.append(ix.nummer.in_(chunk))
        for chunk in _chunks(list(set(dossier_ids))):
            conditions.append(ix.kamerstukdossier_id.in_(chunk))
        for chunk in _chunks(list(set(zaak_ids))):
            conditions.append(
                ix.id.in_(
                    select(tk_document_index_zaken.c.document_id).where(
                        tk_document_index_zaken.c.zaak_id.in_(chunk)
                    )
                )
            )
        found: list[uuid.UUID] = []
        held = exists().where(TkDocument.id == ix.id)
        for condition in conditions:
            stmt = select(ix.id).where(condition, ix.verwijderd.is_(False), ~held)
            found.extend((await self.session.execute(stmt)).scalars())
        return list(dict.fromkeys(found))

    async def want_documents(self, wanted: dict[uuid.UUID, str]) -> None:
        rows = [
            {"document_id": i, "reason": reason, "requested_at": utcnow(), "attempts": 0}
            for i, reason in wanted.items()
        ]
        for chunk in _chunks(rows):
            stmt = _dialect_insert(self.session, TkDocumentFetch.__table__).on_conflict_do_nothing(
                index_elements=["document_id"]
            )
            await self.session.execute(stmt, list(chunk))

    async def wanted_documents(self, limit: int) -> list[TkDocumentFetch]:
        stmt = (
            select(TkDocumentFetch)
            .order_by(TkDocumentFetch.attempts, TkDocumentFetch.requested_at)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def wanted_done(self, document_id: uuid.UUID) -> None:
        await self.session.execute(delete(TkDocumentFetch).where(TkDocumentFetch.document_id == document_id))

    async def wanted_failed(self, document_id: uuid.UUID, error: str) -> None:
        stmt = update(TkDocumentFetch).where(TkDocumentFetch.document_id == document_id)
        await self.session.execute(
            stmt.values(
                attempts=TkDocumentFetch.attempts + 1, last_error=error[:2000], last_attempt_at=utcnow()
            )
        )

    async def forget_index(self, document_id: uuid.UUID) -> None:
        """The feed no longer knows this document: it cannot be wanted again."""
        await self.session.execute(
            update(TkDocumentIndex).where(TkDocumentIndex.id == document_id).values(verwijderd=True)
        )

    # Samples ------------------------------------------------------------------------------
    async def remove_samples(self, kind: str) -> tuple[int, list[str]]:
        """Delete the entities of the bundled sample of this kind; returns how many and the toezegging nummers
        whose evidence they were (the toezeggingen themselves, or those naming a removed letter)."""
        model = MODELS[kind]
        sample = model.origin == Origin.sample.value
        touched: list[str] = []
        if kind == "toezegging":
            touched = [
                n for n in (await self.session.execute(select(model.nummer).where(sample))).scalars() if n
            ]
        elif kind == "document":
            nummers = [
                n for n in (await self.session.execute(select(model.nummer).where(sample))).scalars() if n
            ]
            touched = await self.toezeggingen_naming(nummers)
            ids = select(model.id).where(sample)
            links = tk_document_zaken.c
            await self.session.execute(delete(tk_document_zaken).where(links.document_id.in_(ids)))
        removed = rowcount(await self.session.execute(delete(model).where(sample)))
        if kind == "document" and touched:
            await self.resolve_kamerbrieven(document_nummers=await self.letters_of(touched))
        return removed, touched

    async def letters_of(self, toezegging_nummers: Sequence[str]) -> list[str]:
        b, t = tk_toezegging_brieven.c, TkToezegging.__table__.c
        stmt = (
            select(b.nummer)
            .join(TkToezegging, t.id == b.toezegging_id)
            .where(t.nummer.in_(list(toezegging_nummers)))
        )
        return sorted(set((await self.session.execute(stmt)).scalars()))

    async def replace_document_zaken(self, links: dict[uuid.UUID, list[uuid.UUID]]) -> None:
        await self._replace_links(tk_document_zaken, "document_id", "zaak_id", links)

    async def replace_brieven(self, letters: dict[uuid.UUID, list[str]]) -> None:
        await self._replace_links(tk_toezegging_brieven, "toezegging_id", "nummer", letters)

    async def _replace_links(
        self, table: Table, owner: str, target: str, links: dict[Any, list[Any]]
    ) -> None:
        if not links:
            return
        for chunk in _chunks(list(links)):
            await self.session.execute(delete(table).where(table.c[owner].in_(chunk)))
        rows = [
            {owner: key, target: value} for key, values in links.items() for value in dict.fromkeys(values)
        ]
        for chunk in _chunks(rows):
            await self.session.execute(insert(table), list(chunk))

    async def toezeggingen_naming(self, document_nummers: Sequence[str]) -> list[str]:
        """Nummers of the toezeggingen that name any of these documents as a fulfilment letter."""
        b, t = tk_toezegging_brieven.c, TkToezegging.__table__.c
        found: list[str] = []
        for chunk in _chunks(sorted(set(document_nummers))):
            stmt = (
                select(t.nummer)
                .join(tk_toezegging_brieven, b.toezegging_id == t.id)
                .where(b.nummer.in_(chunk))
            )
            found.extend(n for n in (await self.session.execute(stmt)).scalars() if n)
        return sorted(set(found))

    async def existing_ids(self, kind: str, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        model = MODELS[kind]
        found: set[uuid.UUID] = set()
        ids = list(ids)
        for chunk in _chunks(ids):
            found.update((await self.session.execute(select(model.id).where(model.id.in_(chunk)))).scalars())
        return found

    async def resolve_kamerbrieven(
        self, *, toezegging_ids: Sequence[uuid.UUID] = (), document_nummers: Sequence[str] = ()
    ) -> list[str]:
        """Point toezeggingen at their fulfilment letter (by document number); returns the nummers touched."""
        doc = TkDocument.__table__.alias("d")
        t = TkToezegging.__table__
        letter = (
            select(doc.c.id)
            .where(doc.c.nummer == t.c.kamerbrief_nakoming, doc.c.verwijderd.is_(False))
            .order_by(doc.c.bijgewerkt.desc())
            .limit(1)
            .scalar_subquery()
        )
        touched: list[str] = []
        for column, values in (
            (t.c.id, list(toezegging_ids)),
            (t.c.kamerbrief_nakoming, list(document_nummers)),
        ):
            for chunk in _chunks(values):
                stmt = (
                    update(t)
                    .where(column.in_(chunk))
                    .values(kamerbrief_document_id=letter)
                    .returning(t.c.nummer)
                )
                touched.extend(n for n in (await self.session.execute(stmt)).scalars() if n)
        return touched

    async def commitments_following(self, nummers: Iterable[str]) -> list[uuid.UUID]:
        return [cid for ids in (await self.commitments_by_nummer(nummers)).values() for cid in ids]

    async def commitments_by_nummer(self, nummers: Iterable[str]) -> dict[str, list[uuid.UUID]]:
        """The commitments that follow each toezegging (only the nummers some commitment follows)."""
        found: dict[str, list[uuid.UUID]] = {}
        for chunk in _chunks(sorted(set(nummers))):
            stmt = (
                select(Commitment.tk_toezegging_nummer, Commitment.id)
                .where(Commitment.tk_toezegging_nummer.in_(chunk))
                .order_by(Commitment.id)
            )
            for nummer, cid in (await self.session.execute(stmt)).tuples():
                if nummer:
                    found.setdefault(nummer, []).append(cid)
        return found

    # Relevance inputs -------------------------------------------------------------------
    async def dossier_ids(self, nummers: Iterable[str]) -> set[uuid.UUID]:
        stmt = select(TkKamerstukdossier.id).where(
            TkKamerstukdossier.nummer.in_(list(nummers)), TkKamerstukdossier.verwijderd.is_(False)
        )
        return set((await self.session.execute(stmt)).scalars())

    async def zaak_ids_in(self, dossier_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        ids = list(dossier_ids)
        if not ids:
            return set()
        stmt = select(TkZaak.id).where(TkZaak.kamerstukdossier_id.in_(ids))
        return set((await self.session.execute(stmt)).scalars())

    async def kamerbrief_nummers(self) -> set[str]:
        stmt = select(tk_toezegging_brieven.c.nummer).distinct()
        return set((await self.session.execute(stmt)).scalars())

    async def newest_versions(self) -> dict[str, dt.datetime | None]:
        """The newest `bijgewerkt` mirrored per kind (a feed that stopped moving shows here), in one query."""
        stmt = union_all(
            *(
                select(literal(kind).label("kind"), func.max(model.bijgewerkt).label("newest"))
                for kind, model in MODELS.items()
            )
        )
        return dict((await self.session.execute(stmt)).tuples().all())

    async def zaken_in_dossiers(
        self, zaak_ids: Sequence[uuid.UUID], dossier_ids: set[uuid.UUID]
    ) -> list[uuid.UUID]:
        if not dossier_ids:
            return []
        found: list[uuid.UUID] = []
        for chunk in _chunks(list(zaak_ids)):
            stmt = select(TkZaak.id).where(
                TkZaak.id.in_(chunk), TkZaak.kamerstukdossier_id.in_(list(dossier_ids))
            )
            found.extend((await self.session.execute(stmt)).scalars())
        return found


class SyncStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, category: str) -> TkSyncState:
        stmt = (
            _dialect_insert(self.session, TkSyncState.__table__)
            .values(category=category, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["category"])
        )
        await self.session.execute(stmt)
        state = await self.session.get(TkSyncState, category, populate_existing=True)
        assert state is not None
        return state

    async def get(self, category: str) -> TkSyncState | None:
        return await self.session.get(TkSyncState, category, populate_existing=True)

    async def all(self) -> list[TkSyncState]:
        return list((await self.session.execute(select(TkSyncState))).scalars())

    async def advance(self, category: str, expected: int | None, new: int, counts: dict[str, int]) -> bool:
        """Move the checkpoint (compare-and-set): False when another run moved it first."""
        t = TkSyncState.__table__
        values: dict[str, Any] = {"skiptoken": new, "updated_at": utcnow()}
        values.update({name: t.c[name] + counts.get(name, 0) for name in COUNTERS})
        stmt = (
            update(t)
            .where(t.c.category == category, t.c.skiptoken.is_not_distinct_from(expected))
            .values(**values)
        )
        result = await self.session.execute(stmt)
        return rowcount(result) == 1

    async def add_counts(self, category: str, counts: dict[str, int]) -> None:
        t = TkSyncState.__table__
        await self.session.execute(
            update(t)
            .where(t.c.category == category)
            .values(**{name: t.c[name] + by for name, by in counts.items()}, updated_at=utcnow())
        )

    async def mark_samples(self, category: str) -> None:
        await self.session.execute(
            update(TkSyncState)
            .where(TkSyncState.category == category)
            .values(has_samples=True, updated_at=utcnow())
        )

    async def clear_samples(self, category: str) -> None:
        await self.session.execute(
            update(TkSyncState)
            .where(TkSyncState.category == category)
            .values(has_samples=False, updated_at=utcnow())
        )

    async def record_outcome(self, category: str, *, error: str | None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"updated_at": now}
        if error is None:
            values.update(last_success_at=now, last_error=None)
        else:
            values.update(last_error=error[:4000], last_error_at=now)
        await self.session.execute(
            update(TkSyncState).where(TkSyncState.category == category).values(**values)
        )

    async def reset(self, category: str, skiptoken: int | None) -> None:
        await self.session.execute(
            update(TkSyncState)
            .where(TkSyncState.category == category)
            .values(skiptoken=skiptoken, updated_at=utcnow())
        )


class SyncRunRepository(Repository[TkSyncRun]):
    model = TkSyncRun
    resource = "sync run"
    sorting = Sorting(
        fields={
            "started_at": SortField(TkSyncRun.started_at, "datetime"),
            "category": SortField(TkSyncRun.category, "str"),
        },
        id_column=TkSyncRun.id,
        default="-started_at",
    )

    async def abandon_stale(self, category: str) -> int:
        """Runs left `running` by a process that died are closed as abandoned."""
        stmt = (
            update(TkSyncRun)
            .where(TkSyncRun.category == category, TkSyncRun.status == SyncRunStatus.running)
            .values(
                status=SyncRunStatus.abandoned,
                finished_at=utcnow(),
                error="the process running it stopped before it finished",
            )
        )
        return rowcount(await self.session.execute(stmt))

    async def add_counts(self, run_id: uuid.UUID, counts: dict[str, int], end_token: int | None) -> None:
        t = TkSyncRun.__table__
        values: dict[str, Any] = {name: t.c[name] + counts.get(name, 0) for name in COUNTERS}
        values["end_token"] = end_token
        await self.session.execute(update(t).where(t.c.id == run_id).values(**values))

    async def finish(self, run_id: uuid.UUID, status: SyncRunStatus, error: str | None) -> None:
        await self.session.execute(
            update(TkSyncRun)
            .where(TkSyncRun.id == run_id)
            .values(
                status=status,
                finished_at=utcnow(),
                error=error[:4000] if error else None,
                errors=TkSyncRun.errors + (1 if error else 0),
            )
        )


class ToezeggingRepository(Repository[TkToezegging]):
    model = TkToezegging
    resource = "toezegging"
    sorting = Sorting(
        fields={
            "bijgewerkt": SortField(TkToezegging.bijgewerkt, "datetime"),
            "nummer": SortField(TkToezegging.nummer, "str", nullable=True),
            "datum_nakoming": SortField(TkToezegging.datum_nakoming, "date", nullable=True),
        },
        id_column=TkToezegging.id,
        default="-bijgewerkt",
    )

    def base_query(self) -> Any:
        return select(TkToezegging).where(TkToezegging.verwijderd.is_(False))

    async def by_nummer(self, nummer: str) -> TkToezegging | None:
        stmt = (
            self.base_query()
            .where(TkToezegging.nummer == nummer)
            .order_by(TkToezegging.bijgewerkt.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def documents_by_id(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, TkDocument]:
        wanted = [i for i in set(ids) if i is not None]
        if not wanted:
            return {}
        rows = (await self.session.execute(select(TkDocument).where(TkDocument.id.in_(wanted)))).scalars()
        return {d.id: d for d in rows}

    async def documents_by_nummer(self, nummers: Iterable[str]) -> dict[str, TkDocument]:
        """The live document per nummer (the latest when the mirror holds several)."""
        wanted = sorted(set(nummers))
        found: dict[str, TkDocument] = {}
        for chunk in _chunks(wanted):
            stmt = (
                select(TkDocument)
                .where(TkDocument.nummer.in_(chunk), TkDocument.verwijderd.is_(False))
                .order_by(TkDocument.bijgewerkt)
            )
            found.update({d.nummer: d for d in (await self.session.execute(stmt)).scalars() if d.nummer})
        return found

    async def linked_commitments(self, nummers: Iterable[str | None]) -> dict[str, uuid.UUID]:
        wanted = [n for n in set(nummers) if n]
        if not wanted:
            return {}
        stmt = select(Commitment.tk_toezegging_nummer, Commitment.id).where(
            Commitment.tk_toezegging_nummer.in_(wanted)
        )
        return {n: i for n, i in (await self.session.execute(stmt)).tuples() if n}

    def suggestion_conditions(self, ministerie: str, terms: Sequence[str]) -> list[Any]:
        linked = select(Commitment.id).where(Commitment.tk_toezegging_nummer == TkToezegging.nummer).exists()
        conditions: list[Any] = [~linked, TkToezegging.nummer.is_not(None)]
        if ministerie:
            conditions.append(like_any(ministerie, TkToezegging.ministerie))
        if terms:
            conditions.append(or_(*(like_any(term, TkToezegging.tekst) for term in terms)))
        return conditions


class DocumentRepository(Repository[TkDocument]):
    model = TkDocument
    resource = "document"
    sorting = Sorting(
        fields={
            "bijgewerkt": SortField(TkDocument.bijgewerkt, "datetime"),
            "nummer": SortField(TkDocument.nummer, "str", nullable=True),
            "datum": SortField(TkDocument.datum, "date", nullable=True),
        },
        id_column=TkDocument.id,
        default="-bijgewerkt",
    )

    def base_query(self) -> Any:
        return select(TkDocument).where(TkDocument.verwijderd.is_(False))

    def in_dossier(self, nummer: str) -> Any:
        dossiers = select(TkKamerstukdossier.id).where(TkKamerstukdossier.nummer == nummer)
        via_zaak = (
            select(tk_document_zaken.c.document_id)
            .join(TkZaak, TkZaak.id == tk_document_zaken.c.zaak_id)
            .where(TkZaak.kamerstukdossier_id.in_(dossiers))
        )
        return or_(TkDocument.kamerstukdossier_id.in_(dossiers), TkDocument.id.in_(via_zaak))

    async def zaken_of(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        wanted = list(set(ids))
        out: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in wanted}
        if wanted:
            stmt = (
                select(tk_document_zaken.c.document_id, tk_document_zaken.c.zaak_id)
                .where(tk_document_zaken.c.document_id.in_(wanted))
                .order_by(tk_document_zaken.c.zaak_id)
            )
            for doc, zaak in (await self.session.execute(stmt)).all():
                out[doc].append(zaak)
        return out

    async def dossier_nummers(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str | None]:
        wanted = [i for i in set(ids) if i is not None]
        if not wanted:
            return {}
        stmt = select(TkKamerstukdossier.id, TkKamerstukdossier.nummer).where(
            TkKamerstukdossier.id.in_(wanted)
        )
        return dict((await self.session.execute(stmt)).tuples().all())


def changed_since(column: Any, since: dt.datetime | None) -> list[Any]:
    return [column >= since] if since is not None else []


class QuarantineRepository(Repository[TkQuarantine]):
    model = TkQuarantine
    resource = "quarantined entity"
    sorting = Sorting(
        fields={
            "quarantined_at": SortField(TkQuarantine.quarantined_at, "datetime"),
            "skiptoken": SortField(TkQuarantine.skiptoken, "int"),
        },
        id_column=TkQuarantine.id,
        default="-quarantined_at",
    )


async def documents_wanted(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(TkDocumentFetch))).scalar_one()
