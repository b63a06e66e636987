"""Loads the linked Tweede Kamer toezeggingen (TK mirror, tables tk_toezeggingen / tk_documents).

Kept in its own module: the mirror is built by the sync feature. Until its tables exist in the database,
this loader returns nothing and the TK rule only reports "not (yet) in the mirror".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, Date, String, column, inspect, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.status.inputs import TkDocumentInput, TkInput

# The columns the status engine reads, as the sync feature defines them (shared.tk.models).
tk_toezeggingen = table(
    "tk_toezeggingen",
    column("nummer", String), column("status", String), column("datum_nakoming", Date),
    column("kamerbrief_nakoming", String), column("kamerbrief_document_id"), column("verwijderd", Boolean),
)
tk_documents = table("tk_documents", column("id"), column("nummer", String), column("titel", String),
                     column("datum"))


async def has_tables(session: AsyncSession, *names: str) -> bool:
    """Whether the tables exist (cached on the session: one catalogue query per unit of work)."""
    cache: dict[str, bool] = session.info.setdefault("status_has_table", {})
    missing = [n for n in names if n not in cache]
    if missing:
        conn = await session.connection()
        found = await conn.run_sync(lambda sync: {n: inspect(sync).has_table(n) for n in missing})
        cache.update(found)
    return all(cache[n] for n in names)


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


async def load_tk(session: AsyncSession, nummers: Iterable[str]) -> dict[str, TkInput]:
    wanted = sorted({n for n in nummers if n})
    if not wanted or not await has_tables(session, "tk_toezeggingen", "tk_documents"):
        return {}
    t = tk_toezeggingen.c
    rows = (await session.execute(
        select(t.nummer, t.status, t.datum_nakoming, t.kamerbrief_nakoming, t.kamerbrief_document_id, t.verwijderd)
        .where(t.nummer.in_(wanted)))).all()
    doc_nummers = {r.kamerbrief_nakoming for r in rows if r.kamerbrief_nakoming}
    doc_ids = {r.kamerbrief_document_id for r in rows if r.kamerbrief_document_id is not None}
    by_nummer: dict[str, TkDocumentInput] = {}
    by_id: dict[str, TkDocumentInput] = {}
    if doc_nummers or doc_ids:
        d = tk_documents.c
        conds = []
        if doc_nummers:
            conds.append(d.nummer.in_(sorted(doc_nummers)))
        if doc_ids:
            conds.append(d.id.in_(list(doc_ids)))
        for doc in (await session.execute(select(d.id, d.nummer, d.titel, d.datum).where(or_(*conds)))).all():
            item = TkDocumentInput(id=str(doc.id), nummer=doc.nummer, titel=doc.titel, datum=_as_date(doc.datum))
            by_id[str(doc.id)] = item
            if doc.nummer:
                by_nummer[doc.nummer] = item
    result: dict[str, TkInput] = {}
    for r in rows:
        letter = None
        if r.kamerbrief_document_id is not None:
            letter = by_id.get(str(r.kamerbrief_document_id))
        if letter is None and r.kamerbrief_nakoming:
            letter = by_nummer.get(r.kamerbrief_nakoming) or TkDocumentInput(
                id=str(r.kamerbrief_document_id) if r.kamerbrief_document_id is not None else None,
                nummer=r.kamerbrief_nakoming)
        result[r.nummer] = TkInput(nummer=r.nummer, status=r.status, datum_nakoming=_as_date(r.datum_nakoming),
                                   fulfilment_letter=letter, removed=bool(r.verwijderd))
    return result
