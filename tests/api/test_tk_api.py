"""The TK read API and the sync endpoints, over a mirror filled from the sample pages by the real sync."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.settings import Settings
from shared.tk.client import FeedClient
from shared.tk.offline import load_snapshot
from shared.tk.service import SyncRunner
from shared.tk.testing import FakeFeed, Ref, entry_xml, toezegging
from tests.factories import create_commitment
from tests.tk_feed import FIXTURES, feed, feed_server, settings  # noqa: F401  (fixtures)

GUID_A = "0e0e0e0e-1111-4222-8333-444455556666"
GUID_B = "0f0f0f0f-1111-4222-8333-444455556666"


@pytest.fixture
async def synced(settings: Settings, session_factory: Any, app: Any) -> None:
    async with httpx.AsyncClient() as http:
        summaries = await SyncRunner(
            session_factory, FeedClient.from_settings(http, settings), settings
        ).run()
    assert all(s.status == "succeeded" for s in summaries)


async def test_toezeggingen_list_and_filters(client: httpx.AsyncClient, synced: None) -> None:
    body = (await client.get("/v1/tk/toezeggingen")).json()
    assert [t["nummer"] for t in body["items"]] == [
        "TZ202511-041",
        "TZ202511-077",
        "TZ202511-043",
        "TZ202511-042",
    ]
    first = body["items"][0]
    assert first["status"] == "Voldaan" and first["status_normalised"] == "fulfilled"
    assert first["kamerbrief_nakoming"] == "2026D07125"
    assert first["kamerbrief_document"]["nummer"] == "2026D07125"
    assert first["bijgewerkt"] == "2026-02-20T09:29:40Z"
    assert first["activiteit_nummer"] == "2025A04512" and first["datum_nakoming"] == "2026-02-12"

    async def nummers(**params: Any) -> list[str]:
        r = await client.get("/v1/tk/toezeggingen", params=params)
        assert r.status_code == 200, r.text
        return sorted(t["nummer"] for t in r.json()["items"])

    assert await nummers(ministerie="infrastructuur") == ["TZ202511-077"]
    assert await nummers(status="open", q="fokus") == ["TZ202511-042"]
    assert await nummers(status_raw="voldaan") == ["TZ202511-041"]
    assert await nummers(nummer="TZ202511-043") == ["TZ202511-043"]
    assert await nummers(changed_since="2026-01-01T00:00:00Z") == ["TZ202511-041"]
    page = (await client.get("/v1/tk/toezeggingen", params={"limit": 3, "sort": "nummer"})).json()
    rest = (
        await client.get(
            "/v1/tk/toezeggingen", params={"limit": 3, "sort": "nummer", "cursor": page["next_cursor"]}
        )
    ).json()
    assert len(page["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None


async def test_unknown_query_params_and_bad_status_are_rejected(
    client: httpx.AsyncClient, synced: None
) -> None:
    r = await client.get("/v1/tk/toezeggingen", params={"nope": "1"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/tk/toezeggingen", params={"status": "Voldaan"})).status_code == 422


async def test_toezegging_by_nummer(client: httpx.AsyncClient, synced: None) -> None:
    r = await client.get("/v1/tk/toezeggingen/TZ202511-041")
    assert (
        r.status_code == 200
        and r.json()["kamerbrief_document"]["id"] == "3d7e9f10-2a4b-4c6d-8e0f-1a2b3c4d5e6f"
    )
    missing = await client.get("/v1/tk/toezeggingen/TZ000000-000")
    assert missing.status_code == 404 and missing.json()["type"].endswith("/not-found")


async def test_documents_list_by_dossier_and_nummer(client: httpx.AsyncClient, synced: None) -> None:
    docs = (await client.get("/v1/tk/documents", params={"dossier": "31765", "sort": "nummer"})).json()[
        "items"
    ]
    # 2026D07126 is in the dossier through its zaak only
    assert [d["nummer"] for d in docs] == ["2026D07125", "2026D07126"]
    assert docs[0]["dossier_nummer"] == "31765" and docs[0]["zaak_ids"] == [
        "c4e2f1a0-7b3d-4e5f-8a9b-1c2d3e4f5a6b"
    ]
    assert docs[1]["bron_document_id"] == docs[0]["id"]
    one = (await client.get("/v1/tk/documents", params={"nummer": "2026D07126"})).json()["items"]
    assert len(one) == 1
    assert (await client.get("/v1/tk/documents", params={"dossier": "24170"})).json()["items"] == []


async def test_deleted_entities_are_not_listed(
    client: httpx.AsyncClient, synced: None, feed: FakeFeed, settings: Settings, session_factory: Any
) -> None:
    feed.add(
        "Toezegging",
        toezegging(
            "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
            1900000,
            nummer="TZ202511-042",
            bijgewerkt="2026-03-01T10:00:00Z",
            deleted=True,
        ),
    )
    async with httpx.AsyncClient() as http:
        await SyncRunner(session_factory, FeedClient.from_settings(http, settings), settings).run(
            ["Toezegging"]
        )
    nummers = [t["nummer"] for t in (await client.get("/v1/tk/toezeggingen")).json()["items"]]
    assert "TZ202511-042" not in nummers and len(nummers) == 3
    assert (await client.get("/v1/tk/toezeggingen/TZ202511-042")).status_code == 404


async def test_suggestions_are_vws_term_matches_not_yet_followed(
    client: httpx.AsyncClient, synced: None, writer: dict
) -> None:
    body = (await client.get("/v1/tk/suggestions")).json()
    by = {s["nummer"]: s for s in body["items"]}
    assert set(by) == {"TZ202511-041", "TZ202511-042", "TZ202511-043"}  # not the I&W one
    assert set(by["TZ202511-043"]["matched_terms"]) >= {"ADL", "Wlz"}
    await create_commitment(client, writer, title="Kabinetsreactie", tk_toezegging_nummer="TZ202511-041")
    body = (await client.get("/v1/tk/suggestions")).json()
    assert {s["nummer"] for s in body["items"]} == {"TZ202511-042", "TZ202511-043"}
    followed = (await client.get("/v1/tk/toezeggingen/TZ202511-041")).json()
    assert followed["commitment_id"] is not None
    open_only = (await client.get("/v1/tk/suggestions", params={"status": "fulfilled"})).json()
    assert open_only["items"] == []


async def test_sync_run_needs_admin(client: httpx.AsyncClient, writer: dict) -> None:
    assert (await client.post("/v1/sync/runs", json={})).status_code == 401
    assert (await client.post("/v1/sync/runs", json={}, headers=writer)).status_code == 403
    bad = await client.post("/v1/sync/runs", json={"categories": ["Persoon"]}, headers=writer)
    assert bad.status_code in (403, 422)


async def test_sync_run_enqueues_and_is_recorded(client: httpx.AsyncClient, admin: dict, queue: Any) -> None:
    r = await client.post("/v1/sync/runs", json={"categories": ["toezegging"]}, headers=admin)
    assert r.status_code == 202, r.text
    assert r.json() == {"enqueued": [{"category": "Toezegging", "job_id": "tk.sync_category:Toezegging"}]}
    await queue.drain()
    runs = (await client.get("/v1/sync/runs")).json()["items"]
    assert len(runs) == 1 and runs[0]["category"] == "Toezegging" and runs[0]["status"] == "succeeded"
    assert runs[0]["trigger"] == "api" and runs[0]["entries"] == 5 and runs[0]["end_token"] == 1844310
    state = {s["category"]: s for s in (await client.get("/v1/sync/state")).json()["items"]}
    assert list(state) == ["Kamerstukdossier", "Zaak", "Activiteit", "Toezegging", "Document"]
    assert state["Toezegging"]["skiptoken"] == 1844310 and state["Toezegging"]["last_success_at"]
    assert state["Toezegging"]["upserts"] == 4 and state["Toezegging"]["skipped_older"] == 1
    assert state["Document"]["skiptoken"] is None
    filtered = (await client.get("/v1/sync/runs", params={"category": "Document"})).json()["items"]
    assert filtered == []


async def test_sync_run_of_several_categories_runs_them_in_dependency_order(
    client: httpx.AsyncClient, admin: dict, queue: Any
) -> None:
    r = await client.post("/v1/sync/runs", json={"categories": ["Document", "Toezegging"]}, headers=admin)
    assert [e["category"] for e in r.json()["enqueued"]] == ["Toezegging", "Document"]
    await queue.drain()
    runs = (await client.get("/v1/sync/runs", params={"sort": "started_at"})).json()["items"]
    assert [(r["category"], r["status"]) for r in runs] == [
        ("Toezegging", "succeeded"),
        ("Document", "succeeded"),
    ]
    letter = (await client.get("/v1/tk/toezeggingen/TZ202511-041")).json()["kamerbrief_document"]
    assert letter["nummer"] == "2026D07125"


async def test_origin_letters_and_relations_are_shown(
    client: httpx.AsyncClient, synced: None, feed: FakeFeed, settings: Settings, session_factory: Any
) -> None:
    first = (await client.get("/v1/tk/toezeggingen/TZ202511-041")).json()
    assert first["origin"] == "feed" and first["kamerbrieven_nakoming"] == ["2026D07125"]
    assert [d["nummer"] for d in first["kamerbrief_documents"]] == ["2026D07125"]
    assert first["kamerbrief_document"]["origin"] == "feed" and first["relations"] == []
    feed.add(
        "Toezegging",
        toezegging(
            "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            1900001,
            nummer="TZ202511-041",
            status="Voldaan",
            bijgewerkt="2026-03-01T10:00:00Z",
            kamerbrief=["2026D07125", "2026D07126"],
            extra=[("toegezegdAan", Ref(GUID_A)), ("toegezegdAan", Ref(GUID_B))],
        ),
    )
    async with httpx.AsyncClient() as http:
        runner = SyncRunner(session_factory, FeedClient.from_settings(http, settings), settings)
        await runner.run(["Toezegging"])
    body = (await client.get("/v1/tk/toezeggingen/TZ202511-041")).json()
    assert body["kamerbrief_nakoming"] == "2026D07125"
    assert body["kamerbrieven_nakoming"] == ["2026D07125", "2026D07126"]
    assert [d["nummer"] for d in body["kamerbrief_documents"]] == ["2026D07125", "2026D07126"]
    assert body["relations"] == [
        {"element": "toegezegdAan", "ref": GUID_A},
        {"element": "toegezegdAan", "ref": GUID_B},
    ]
    docs = (await client.get("/v1/tk/documents")).json()["items"]
    assert {d["origin"] for d in docs} == {"feed"}
    assert (await client.get("/v1/tk/documents", params={"origin": "sample"})).json()["items"] == []
    assert len((await client.get("/v1/tk/toezeggingen", params={"origin": "feed"})).json()["items"]) == 4
    assert (await client.get("/v1/tk/toezeggingen", params={"origin": "sample"})).json()["items"] == []
    assert (await client.get("/v1/tk/toezeggingen", params={"origin": "echt"})).status_code == 422
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "sample" in schema["ToezeggingOut"]["properties"]["origin"]["description"]


async def test_quarantine_is_counted_in_state_and_listed(
    client: httpx.AsyncClient, synced: None, feed: FakeFeed, settings: Settings, session_factory: Any
) -> None:
    feed.add(
        "Toezegging",
        entry_xml(
            "Toezegging", "geen-guid", 1900002, "2026-03-01T10:00:00Z", [("nummer", "TZ-X")], prefix="ns1"
        ),
        toezegging(GUID_A, 1900003, nummer="TZ-OK", bijgewerkt="2026-03-01T10:00:00Z"),
    )
    async with httpx.AsyncClient() as http:
        runner = SyncRunner(session_factory, FeedClient.from_settings(http, settings), settings)
        (summary,) = await runner.run(["Toezegging"])
    assert summary.status == "succeeded" and summary.quarantined == 1
    state = {s["category"]: s for s in (await client.get("/v1/sync/state")).json()["items"]}
    assert state["Toezegging"]["quarantined"] == 1 and state["Toezegging"]["skiptoken"] == 1900003
    assert state["Toezegging"]["has_samples"] is False
    listed = (await client.get("/v1/sync/quarantine", params={"category": "toezegging"})).json()["items"]
    assert [(q["skiptoken"], q["entity_id"], q["origin"]) for q in listed] == [(1900002, "geen-guid", "feed")]
    assert "not a GUID" in listed[0]["reason"] and "TZ-X" in listed[0]["raw"]
    assert (await client.get("/v1/sync/quarantine", params={"category": "Zaak"})).json()["items"] == []
    assert (await client.get("/v1/sync/quarantine", params={"category": "Persoon"})).status_code == 422
    assert (await client.get("/v1/tk/toezeggingen/TZ-OK")).status_code == 200


async def test_sample_entities_say_so(
    client: httpx.AsyncClient, settings: Settings, session_factory: Any
) -> None:
    await load_snapshot(session_factory, settings)
    sample = (await client.get("/v1/tk/toezeggingen", params={"origin": "sample"})).json()["items"]
    assert len(sample) == 4 and {t["origin"] for t in sample} == {"sample"}
    letter = (await client.get("/v1/tk/toezeggingen/TZ202511-041")).json()["kamerbrief_document"]
    assert letter["nummer"] == "2026D07125" and letter["origin"] == "sample"
    state = {s["category"]: s for s in (await client.get("/v1/sync/state")).json()["items"]}
    assert state["Toezegging"]["has_samples"] is True and state["Toezegging"]["skiptoken"] is None
