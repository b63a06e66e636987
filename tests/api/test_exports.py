"""Exports: every format parses back to the same rows, with the list's filters, named columns, safe cells."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import openpyxl
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import update

from services.api.app import create_app
from services.api.routers import exports
from shared.commitments.models import Commitment
from shared.signals.privacy import REDACTED
from tests.factories import create, create_commitment, create_milestone, create_theme

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_back(response: httpx.Response) -> list[dict[str, Any]]:
    """The export's rows as {column: value}, whatever its format (values as text, empty cells as None)."""
    kind = response.headers["content-type"].split(";")[0]
    if kind == "text/csv":
        return [
            {k: (v if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(response.content.decode()))
        ]
    if kind == "application/x-ndjson":
        return [orjson.loads(line) for line in response.content.splitlines()]
    assert kind == XLSX, kind
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row)) for row in rows]


async def export(
    client: httpx.AsyncClient, path: str, fmt: str = "csv", **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/exports/{path}", params={"format": fmt, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return read_back(response)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "xlsx"])
async def test_commitments_in_each_format_with_filters(
    client: httpx.AsyncClient, writer: dict, admin: dict, queue: Any, fmt: str
) -> None:
    await create_theme(client, admin, "inzet-zzp-flex")
    zzp = await create_commitment(
        client,
        writer,
        title="Alle ADL-assistenten in loondienst",
        due_date="2026-07-01",
        themes=["inzet-zzp-flex"],
    )
    await create_commitment(client, writer, title="Een andere belofte")
    await queue.drain()  # the status engine judges them: status and reasons
    rows = await export(client, "commitments", fmt, theme="inzet-zzp-flex")
    assert [r["id"] for r in rows] == [zzp["id"]]
    row = rows[0]
    assert (
        row["titel"] == "Alle ADL-assistenten in loondienst" and row["themas"] == "inzet-zzp-flex"
        if fmt != "ndjson"
        else row["themas"] == ["inzet-zzp-flex"]
    )
    listed = (await client.get(f"/v1/commitments/{zzp['id']}")).json()
    assert row["status"] == listed["status"] and row["planning"] == listed["schedule"]
    assert row["eerste_reden"] == listed["reasons"][0]["message"]
    assert str(row["deadline"])[:10] == "2026-07-01"
    english = await export(client, "commitments", fmt, theme="inzet-zzp-flex", lang="en")
    assert {"title", "status", "schedule", "first_reason", "due_date"} <= set(english[0])
    in_english = (await client.get(f"/v1/commitments/{zzp['id']}", headers={"Accept-Language": "en"})).json()
    assert english[0]["first_reason"] == in_english["reasons"][0]["message"] != row["eerste_reden"]
    assert len(await export(client, "commitments", fmt)) == 2
    assert await export(client, "commitments", fmt, q="bestaat niet") == []


async def test_the_format_comes_from_format_or_accept(client: httpx.AsyncClient, writer: dict) -> None:
    await create_commitment(client, writer, title="Iets")
    for accept, kind in [
        (None, "text/csv"),
        ("*/*", "text/csv"),
        ("application/x-ndjson", "application/x-ndjson"),
        (f"application/json;q=0.9, {XLSX}", XLSX),
        ("text/*", "text/csv"),
        (f"text/csv;q=0.1, {XLSX};q=0.5", XLSX),
    ]:
        r = await client.get("/v1/exports/commitments", headers={"Accept": accept} if accept else {})
        assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == kind, accept
        assert len(read_back(r)) == 1
    r = await client.get("/v1/exports/commitments", headers={"Accept": "application/json"})
    assert r.status_code == 406 and r.headers["content-type"] == "application/problem+json"
    r = await client.get(
        "/v1/exports/commitments", params={"format": "ndjson"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert (await client.get("/v1/exports/commitments", params={"format": "pdf"})).status_code == 422
    assert (await client.get("/v1/exports/commitments", params={"lang": "de"})).status_code == 422
    assert (
        await client.get("/v1/exports/commitments", params={"limit": "5"})
    ).status_code == 422  # no paging
    assert (await client.get("/v1/exports/commitments", params={"sort": "colour"})).status_code == 422


async def test_many_pages_in_sort_order(
    client: httpx.AsyncClient, writer: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BATCH", 2)  # several keyset pages from a handful of rows
    titles = [f"Toezegging {n}" for n in (3, 1, 4, 0, 2)]
    for title in titles:
        await create_commitment(client, writer, title=title)
    for fmt in ("csv", "ndjson", "xlsx"):
        assert [r["titel"] for r in await export(client, "commitments", fmt, sort="title")] == sorted(titles)
        assert [r["titel"] for r in await export(client, "commitments", fmt, sort="-title")] == sorted(
            titles
        )[::-1]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_cells_are_never_formulas(client: httpx.AsyncClient, writer: dict, fmt: str) -> None:
    dangerous = ["=HYPERLINK(\"http://x\",\"klik\")", "+1+1", "-2+3", "@SUM(A1)"]
    for text in dangerous:
        await create_commitment(client, writer, title=text, description="\tverborgen")
    r = await client.get("/v1/exports/commitments", params={"format": fmt, "sort": "title"})
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.content.decode())))
        assert sorted(row["titel"] for row in rows) == sorted("'" + t for t in dangerous)
        assert {row["omschrijving"] for row in rows} == {"'\tverborgen"}
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
        assert not [c for c in cells if c.data_type == "f"]  # no formula cell at all
        assert sorted(c.value for c in cells if c.column_letter == "C") == sorted(dangerous)


async def test_no_bsn_leaves_in_any_format(
    client: httpx.AsyncClient, writer: dict, session_factory: Any
) -> None:
    made = await create_commitment(client, writer, title="Dossier")
    # Stored text is screened on the way in; a BSN written past the API (an old row, a feed) is still redacted.
    async with session_factory() as s:
        await s.execute(
            update(Commitment)
            .where(Commitment.id == uuid.UUID(made["id"]))
            .values(description="client 111222333 meldde", title="Dossier 111 222 333")
        )
        await s.commit()
    for fmt in ("csv", "ndjson", "xlsx"):
        r = await client.get("/v1/exports/commitments", params={"format": fmt})
        rows = read_back(r)
        assert rows[0]["omschrijving"] == f"client {REDACTED} meldde"
        text = r.content.decode() if fmt != "xlsx" else str(rows)
        assert "111222333" not in text and "111 222 333" not in text


async def test_milestones_a_row_per_measurement(client: httpx.AsyncClient, writer: dict, queue: Any) -> None:
    commitment = await create_commitment(client, writer, title="Loondienst")
    measured = await create_milestone(
        client,
        writer,
        commitment["id"],
        title="Percentage in loondienst",
        indicator={"unit": "percent", "baseline_value": 60, "target_value": 100},
    )
    for day, value in (("2026-03-01", 70), ("2026-01-01", 65.5)):
        await create(client, f"/v1/milestones/{measured['id']}/measurements", writer, date=day, value=value)
    bare = await create_milestone(
        client, writer, commitment["id"], title="Zonder metingen", due_date="2026-08-01"
    )
    other = await create_commitment(client, writer, title="Anders")
    await create_milestone(client, writer, other["id"], title="Elders")
    await queue.drain()
    for fmt in ("csv", "ndjson", "xlsx"):
        rows = await export(client, "milestones", fmt, commitment_id=commitment["id"], lang="en")
        assert [
            (r["milestone_id"], str(r["measurement_date"])[:10] if r["measurement_date"] else None)
            for r in rows
        ] == [(measured["id"], "2026-01-01"), (measured["id"], "2026-03-01"), (bare["id"], None)]
        assert [float(r["measurement_value"]) for r in rows[:2]] == [65.5, 70.0]
        assert float(rows[0]["target_value"]) == 100 and rows[0]["unit"] == "percent"
        assert rows[2]["target_value"] is None and rows[2]["status"] and rows[2]["first_reason"]


async def test_recommendations_with_status_and_reason(
    client: httpx.AsyncClient, writer: dict, admin: dict, queue: Any
) -> None:
    await create_theme(client, admin, "inzet-zzp-flex")
    rec = await create(
        client,
        "/v1/recommendations",
        admin,
        title="Bouw zzp af",
        text="Vaste teams",
        theme_key="inzet-zzp-flex",
    )
    await create(client, "/v1/recommendations", admin, title="Iets anders", text="Tekst")
    await create_commitment(client, writer, title="Vaste teams", recommendation_ids=[rec["id"]])
    await queue.drain()
    got = (await client.get(f"/v1/recommendations/{rec['id']}")).json()
    rows = await export(client, "recommendations", "ndjson", theme="inzet-zzp-flex")
    assert [(r["id"], r["titel"], r["status"], r["eerste_reden"]) for r in rows] == [
        (rec["id"], "Bouw zzp af", got["status"], got["reasons"][0]["message"])
    ]


async def test_reads_are_scoped_like_the_lists(
    settings: Any, connection: Any, session_factory: Any, queue: Any, make_key: Any
) -> None:
    private = settings.model_copy(update={"public_read": False})
    app = create_app(private, engine=connection.engine, session_factory=session_factory, queue=queue)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        reader, signals_only = await make_key(["read"]), await make_key(["signals:write"])
        for path in ("commitments", "recommendations", "milestones", "tk/toezeggingen", "signals/stats"):
            assert (await c.get(f"/v1/exports/{path}")).status_code == 401, path
            assert (await c.get(f"/v1/exports/{path}", headers=signals_only)).status_code == 403, path
            r = await c.get(f"/v1/exports/{path}", headers=reader)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), path
