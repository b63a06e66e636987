"""The TK mirror's export: the toezeggingen list's filters and rows, whole."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.settings import Settings
from shared.tk.client import FeedClient
from shared.tk.service import SyncRunner
from tests.api.test_exports import export
from tests.factories import create_commitment
from tests.tk_feed import feed, feed_server, settings  # noqa: F401  (fixtures)


@pytest.fixture
async def synced(settings: Settings, session_factory: Any, app: Any) -> None:
    async with httpx.AsyncClient() as http:
        summaries = await SyncRunner(
            session_factory, FeedClient.from_settings(http, settings), settings
        ).run()
    assert all(s.status == "succeeded" for s in summaries)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "xlsx"])
async def test_toezeggingen_export_follows_the_list(
    client: httpx.AsyncClient, synced: None, writer: dict, fmt: str
) -> None:
    followed = await create_commitment(
        client, writer, title="Volgt TZ202511-042", tk_toezegging_nummer="TZ202511-042"
    )
    listed = (await client.get("/v1/tk/toezeggingen")).json()["items"]
    rows = await export(client, "tk/toezeggingen", fmt)
    assert [r["nummer"] for r in rows] == [t["nummer"] for t in listed]  # the list's default order
    first = rows[0]
    assert (first["status"], first["tk_status"], first["kamerbrieven_nakoming"]) == (
        "fulfilled",
        "Voldaan",
        ["2026D07125"] if fmt == "ndjson" else "2026D07125",
    )
    assert {r["nummer"]: r["toezegging_id"] for r in rows}["TZ202511-042"] == followed["id"]
    assert [r["nummer"] for r in await export(client, "tk/toezeggingen", fmt, status="open", q="fokus")] == [
        "TZ202511-042"
    ]
    english = await export(client, "tk/toezeggingen", fmt, sort="nummer", lang="en")
    assert [r["nummer"] for r in english] == sorted(t["nummer"] for t in listed)
    assert {"commitment_id", "tk_status", "updated_at"} <= set(english[0])
