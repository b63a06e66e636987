"""Exports of signals (aggregates only, suppressed as /v1/signals/stats) and of the TK mirror."""

from __future__ import annotations

import httpx

from tests.api.test_exports import export, read_back
from tests.api.test_signal_stats import seed


async def test_signal_stats_export_is_the_published_table(
    client: httpx.AsyncClient, themes: None, intake: dict
) -> None:
    await seed(client, intake, 6, themes=["bejegening"], provider_agb="11111111", received_date="2026-01-10")
    await seed(
        client,
        intake,
        3,
        themes=["sociale-veiligheid"],
        provider_agb="22222222",
        received_date="2026-02-10",
        location="Fokus Almere",
    )
    for group_by in ("theme", "provider", "location", "month"):
        published = (await client.get("/v1/signals/stats", params={"group_by": group_by})).json()
        for fmt in ("csv", "ndjson", "xlsx"):
            rows = await export(client, "signals/stats", fmt, group_by=group_by, lang="en")
            assert [{k: r[k] for k in ("group", "count", "reason")} for r in rows] == [
                {
                    "group": c["group"],
                    "count": c["count"]
                    if fmt == "ndjson" or c["count"] is None
                    else (str(c["count"]) if fmt == "csv" else c["count"]),
                    "reason": c["reason"],
                }
                for c in published["items"]
            ], (group_by, fmt)
            assert {r["group_by"] for r in rows} == {group_by}
    rows = await export(client, "signals/stats", "ndjson", group_by="theme")
    assert {r["groep"]: r["aantal"] for r in rows} == {"bejegening": None, "sociale-veiligheid": "<5"}
    assert set(rows[0]) == {
        "groepering",
        "groep",
        "aantal",
        "onderdrukt",
        "reden",
        "van",
        "tot_en_met",
        "thema",
        "soort",
    }  # counts only: nothing of a signal itself
    months = await export(
        client, "signals/stats", "csv", group_by="month", **{"from": "2026-01-15", "to": "2026-02-03"}
    )
    assert [(r["groep"], r["aantal"], r["van"], r["tot_en_met"]) for r in months] == [
        ("2026-01", "6", "2026-01-01", "2026-02-28"),
        ("2026-02", "<5", "2026-01-01", "2026-02-28"),
    ]
    r = await client.get("/v1/exports/signals/stats", params={"group_by": "colour"})
    assert r.status_code == 422


async def test_signal_stats_export_never_lists_signals(
    client: httpx.AsyncClient, themes: None, intake: dict
) -> None:
    await seed(client, intake, 2, themes=["bejegening"], summary="Bijzonder verhaal van client K.")
    r = await client.get("/v1/exports/signals/stats", params={"format": "ndjson", "group_by": "location"})
    assert r.status_code == 200
    assert b"Bijzonder" not in r.content and b"KL-" not in r.content and b"fokus-klachten" not in r.content
    # One small location: its count would be the table's total, so the table is withheld whole, and says so.
    assert [(row["groep"], row["aantal"], row["onderdrukt"], row["reden"]) for row in read_back(r)] == [
        (None, None, True, "table")
    ]
