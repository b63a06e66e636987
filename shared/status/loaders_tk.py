"""Loads the linked Tweede Kamer toezeggingen from the TK mirror (shared.tk.models).

A commitment follows the toezegging whose nummer equals its tk_toezegging_nummer; when the mirror holds
more than one row for a nummer, a live row wins over a removed one, then the most recently updated.
Every fulfilment letter is loaded in feed order; entities of the bundled snapshot say so (`sample`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.status.inputs import TkDocumentInput, TkInput
from shared.tk.models import Origin, TkDocument, TkToezegging


def _letter_nummers(row: Any) -> list[str]:
    return list(row.kamerbrieven_nakoming or ([row.kamerbrief_nakoming] if row.kamerbrief_nakoming else []))


async def load_tk(session: AsyncSession, nummers: Iterable[str]) -> dict[str, TkInput]:
    wanted = sorted({n for n in nummers if n})
    if not wanted:
        return {}
    t = TkToezegging.__table__.c
    rows = (
        await session.execute(
            select(
                t.nummer,
                t.status,
                t.datum_nakoming,
                t.kamerbrief_nakoming,
                t.kamerbrieven_nakoming,
                t.kamerbrief_document_id,
                t.verwijderd,
                t.bijgewerkt,
                t.origin,
            )
            .where(t.nummer.in_(wanted))
            .order_by(t.nummer, t.verwijderd.desc(), t.bijgewerkt)
        )
    ).all()
    chosen = {r.nummer: r for r in rows}  # ordered so the live, latest row comes last and wins
    doc_ids = {r.kamerbrief_document_id for r in chosen.values() if r.kamerbrief_document_id is not None}
    doc_nummers = {n for r in chosen.values() for n in _letter_nummers(r)}
    by_id: dict[Any, TkDocumentInput] = {}
    by_nummer: dict[str, TkDocumentInput] = {}
    if doc_ids or doc_nummers:
        d = TkDocument.__table__.c
        conds = []
        if doc_ids:
            conds.append(d.id.in_(list(doc_ids)))
        if doc_nummers:
            conds.append(d.nummer.in_(sorted(doc_nummers)))
        stmt = (
            select(d.id, d.nummer, d.titel, d.datum, d.origin)
            .where(or_(*conds))
            .order_by(d.verwijderd.desc(), d.bijgewerkt)
        )
        for doc in (await session.execute(stmt)).all():
            item = TkDocumentInput(
                id=str(doc.id),
                nummer=doc.nummer,
                titel=doc.titel,
                datum=doc.datum,
                sample=doc.origin == Origin.sample.value,
            )
            by_id[doc.id] = item
            if doc.nummer:
                by_nummer[doc.nummer] = item
    result: dict[str, TkInput] = {}
    for nummer, r in chosen.items():
        letters = []
        for position, letter_nummer in enumerate(_letter_nummers(r)):
            resolved = r.kamerbrief_document_id if position == 0 else None  # the first letter's resolved id
            letter = by_id.get(resolved) if resolved else None
            letter = (
                letter
                or by_nummer.get(letter_nummer)
                or TkDocumentInput(id=str(resolved) if resolved else None, nummer=letter_nummer)
            )
            letters.append(letter)
        result[nummer] = TkInput(
            nummer=nummer,
            status=r.status,
            datum_nakoming=r.datum_nakoming,
            fulfilment_letter=letters[0] if letters else None,
            removed=bool(r.verwijderd),
            fulfilment_letters=tuple(letters),
            sample=r.origin == Origin.sample.value,
        )
    return result
