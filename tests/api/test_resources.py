from __future__ import annotations

import uuid

import httpx
import pytest

from tests.factories import create, create_action, create_commitment, create_party, create_theme


async def test_party_crud_and_identifier_validation(
    client: httpx.AsyncClient, writer: dict, admin: dict
) -> None:
    # the codes that decide access to client signals are set by an admin
    p = await create_party(client, admin, key="fokus", name="Stichting Fokus Wonen", agb_code="12345678")
    r = await client.post(
        "/v1/parties", json={"name": "X", "kind": "provider", "agb_code": "1234"}, headers=writer
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "agb_code"]
    r = await client.post(
        "/v1/parties", json={"name": "Y", "kind": "provider", "agb_code": "12345678"}, headers=admin
    )
    assert r.status_code == 409 and r.json()["existing_id"] == p["id"]
    r = await client.post("/v1/parties", json={"name": "Z", "kind": "alien"}, headers=writer)
    assert r.status_code == 422
    listed = (await client.get("/v1/parties", params={"kind": "provider", "q": "fokus"})).json()
    assert [x["id"] for x in listed["items"]] == [p["id"]]
    r = await client.delete(f"/v1/parties/{p['id']}", headers={**writer, "If-Match": '"7"'})
    assert r.status_code == 412
    assert (await client.delete(f"/v1/parties/{p['id']}", headers=writer)).status_code == 204
    assert (await client.get(f"/v1/parties/{p['id']}")).status_code == 404


async def test_unknown_reference_is_422_on_that_field(client: httpx.AsyncClient, writer: dict) -> None:
    missing = str(uuid.uuid4())
    r = await client.post("/v1/commitments", json={"title": "x", "owner_party_id": missing}, headers=writer)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": ["body", "owner_party_id"], "msg": f"no party with id {missing}", "type": "reference"}
    ]
    r = await client.post("/v1/actions", json={"title": "x", "state": "planned"}, headers=writer)
    assert r.status_code == 422  # neither commitment nor recommendation


async def test_action_state_change_stamps_last_update(client: httpx.AsyncClient, writer: dict) -> None:
    c = await create_commitment(client, writer)
    a = await create_action(client, writer, c["id"], state="planned", last_update_date="2025-01-01")
    assert a["last_update_date"] == "2025-01-01"
    r = await client.patch(f"/v1/actions/{a['id']}", json={"state": "blocked"}, headers=writer)
    assert r.status_code == 200
    assert r.json()["last_update_date"] != "2025-01-01"
    r = await client.patch(
        f"/v1/actions/{a['id']}", json={"start_date": "2026-05-01", "end_date": "2026-01-01"}, headers=writer
    )
    assert r.status_code == 422
    assert (await client.get(f"/v1/actions/{a['id']}")).json()[
        "state"
    ] == "blocked"  # rejected write left no trace
    listed = (await client.get("/v1/actions", params={"commitment_id": c["id"], "state": "blocked"})).json()
    assert len(listed["items"]) == 1


async def test_recommendation_with_theme_and_source(
    client: httpx.AsyncClient, writer: dict, admin: dict
) -> None:
    await create_theme(client, admin, "bejegening")
    src = await create(
        client,
        "/v1/sources",
        writer,
        kind="kamerbrief",
        title="Kabinetsreactie",
        tk_document_nummer="2026D07125",
        date="2026-02-12",
    )
    rec = await create(
        client,
        "/v1/recommendations",
        writer,
        title="Werk aan bejegening",
        text="...",
        theme_key="bejegening",
        source_id=src["id"],
        source_section="Aanbevelingen",
        source_quote="Het onderzoek toont",
    )
    c = await create_commitment(client, writer, recommendation_ids=[rec["id"]])
    assert c["recommendation_ids"] == [rec["id"]]
    listed = (await client.get("/v1/commitments", params={"recommendation_id": rec["id"]})).json()
    assert [x["id"] for x in listed["items"]] == [c["id"]]
    r = await client.post(
        "/v1/sources",
        json={"kind": "kamerbrief", "title": "dup", "tk_document_nummer": "2026D07125"},
        headers=writer,
    )
    assert r.status_code == 409
    r = await client.post(
        "/v1/sources",
        json={"kind": "kamerbrief", "title": "bad", "tk_document_nummer": "D07125"},
        headers=writer,
    )
    assert r.status_code == 422


async def test_themes_are_admin_managed(client: httpx.AsyncClient, writer: dict, admin: dict) -> None:
    r = await client.post(
        "/v1/themes", json={"key": "privacy", "label_nl": "Privacy", "label_en": "Privacy"}, headers=writer
    )
    assert r.status_code == 403
    await create_theme(client, admin, "privacy")
    assert (await client.get("/v1/themes/privacy")).json()["label_en"] == "privacy"
    assert (await client.get("/v1/themes/onbekend")).status_code == 404


async def test_unknown_query_parameter_and_sort_rejected(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/commitments", params={"colour": "red"})
    assert r.status_code == 422
    r = await client.get(
        "/v1/commitments", params={"sort": "colour"}
    )  # sort is an enum of the sortable fields
    assert r.status_code == 422 and "due_date" in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["query", "sort"]


async def test_cursor_bound_to_sort(client: httpx.AsyncClient, writer: dict) -> None:
    for i in range(3):
        await create_commitment(client, writer, title=f"c{i}")
    page = (await client.get("/v1/commitments", params={"limit": 1, "sort": "title"})).json()
    r = await client.get(
        "/v1/commitments", params={"limit": 1, "sort": "due_date", "cursor": page["next_cursor"]}
    )
    assert r.status_code == 400


@pytest.mark.parametrize("header", ["Basic abc", "Bearer nk_0000_nope", "Bearer "])
async def test_bad_credentials_are_401(client: httpx.AsyncClient, header: str) -> None:
    r = await client.post("/v1/commitments", json={"title": "x"}, headers={"Authorization": header})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
