"""Deterministic generated SyncFeed: entry i of a category is computed from i alone, so the server
holds nothing in memory and any page can be served for any skiptoken."""

from __future__ import annotations

import uuid
import zlib

from shared.tk import testing as t

# Entries per category for a given total; Documents dominate, as in the real feed.
MIX = {"Kamerstukdossier": 0.01, "Zaak": 0.10, "Activiteit": 0.04, "Toezegging": 0.10, "Document": 0.75}
WATCHED = ["31765", "24170"]
TOKEN_BASE = 1_000_000


def counts(total: int) -> dict[str, int]:
    out = {c: int(total * share) for c, share in MIX.items()}
    out["Document"] += total - sum(out.values())
    return out


def guid(category: str, i: int) -> str:
    return str(uuid.UUID(int=(zlib.crc32(category.encode()) & 0xFFFF) << 64 | i))


def _stamp(i: int) -> str:
    # quirks mixed in: UTC, +0100 without colon, naive local with seven fractional digits
    minute, second = (i // 60) % 60, i % 60
    kind = i % 3
    if kind == 0:
        return f"2025-03-01T10:{minute:02d}:{second:02d}Z"
    if kind == 1:
        return f"2025-03-01T11:{minute:02d}:{second:02d}+0100"
    return f"2025-03-01T11:{minute:02d}:{second:02d}.1230000"


def dossier_guid(i: int) -> str:
    return guid("Kamerstukdossier", i)


def entry(category: str, i: int, n: dict[str, int]) -> bytes:
    token = TOKEN_BASE + i
    if category == "Kamerstukdossier":
        nummer = WATCHED[i] if i < len(WATCHED) else str(40000 + i)
        return t.dossier(guid(category, i), token, nummer=nummer, bijgewerkt=_stamp(i))
    if category == "Zaak":
        return t.zaak(
            guid(category, i),
            token,
            nummer=f"2025Z{i:05d}",
            dossier=dossier_guid(i % max(1, n["Kamerstukdossier"])),
            bijgewerkt=_stamp(i),
        )
    if category == "Activiteit":
        return t.activiteit(guid(category, i), token, nummer=f"2025A{i:05d}", bijgewerkt=_stamp(i))
    if category == "Toezegging":
        status = ("Openstaand", "Voldaan", "Deels voldaan", "Vervallen", "Afgedaan")[i % 5]
        return t.toezegging(
            guid(category, i),
            token,
            nummer=f"TZ2025-{i:06d}",
            status=status,
            bijgewerkt=_stamp(i),
            kamerbrief=f"2025D{i:05d}" if i % 4 == 1 else None,
            datum_nakoming="0001-01-01T00:00:00Z" if i % 7 == 0 else "2026-02-15T00:00:00+01:00",
            tekst="De minister informeert de Kamer over de voortgang."
            if i % 3
            else "De staatssecretaris stuurt een reactie over gehandicaptenzorg en de Wlz.",
        )
    # Documents: about a third relevant (watched dossier, term, or a fulfilment letter)
    rel = i % 9
    dossier = dossier_guid(i % len(WATCHED)) if rel in (0, 1) else dossier_guid(len(WATCHED) + i % 50)
    titel = "Kwaliteit van zorg bij Fokus" if rel == 2 else "Verslag van een schriftelijk overleg"
    return t.document(
        guid(category, i),
        token,
        nummer=f"2025D{i:05d}",
        dossier=dossier,
        titel=titel,
        onderwerp="Onderwerp van de brief over het beleid",
        bijgewerkt=_stamp(i),
        zaken=[guid("Zaak", i % max(1, n["Zaak"]))],
        deleted=(i % 97 == 0),
    )


def page(category: str, skiptoken: int | None, n: dict[str, int], page_size: int = 250) -> bytes:
    start = 0 if skiptoken is None else max(0, skiptoken - TOKEN_BASE + 1)
    stop = min(n[category], start + page_size)
    return t.page_xml(category, (entry(category, i, n) for i in range(start, stop)))
