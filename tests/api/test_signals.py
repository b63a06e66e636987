from __future__ import annotations

import uuid

import httpx

from tests.factories import create_commitment, post_signal, signal


async def test_create_and_read_signal(
    client: httpx.AsyncClient, themes: None, intake: dict, make_key, admin: dict
) -> None:
    commitment = await create_commitment(client, admin)
    r = await post_signal(
        client,
        intake,
        signal(client_reference="CL-991", extension_recorded=True, commitment_ids=[commitment["id"]]),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/signals/{body['id']}"
    assert body["themes"] == ["bejegening"]
    assert body["judgement_due_date"] == "2026-04-13"  # 6 + 4 weeks after 2 February
    assert len(body["client_pseudonym"]) == 64 and "CL-991" not in r.text
    assert body["pseudonym_key_version"] == 1
    assert body["retention_date"] == "2028-02-02"
    assert body["commitment_ids"] == [commitment["id"]]
    staff = await make_key(["signals:read"])
    got = await client.get(f"/v1/signals/{body['id']}", headers=staff)
    assert got.status_code == 200 and got.json()["client_pseudonym"] == body["client_pseudonym"]
    listed = (await client.get("/v1/signals", params={"theme": "bejegening"}, headers=staff)).json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    # Raw signals are never public.
    assert (await client.get(f"/v1/signals/{body['id']}")).status_code == 401
    assert (await client.get("/v1/signals", headers=intake)).status_code == 403


async def test_judgement_term_without_extension_and_for_other_kinds(client, themes, intake) -> None:
    klacht = (await post_signal(client, intake, signal())).json()
    assert klacht["judgement_due_date"] == "2026-03-16"
    incident = (await post_signal(client, intake, signal(kind="incident"))).json()
    assert incident["judgement_due_date"] is None


async def test_validation(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    r = await post_signal(client, intake, signal(themes=["bestaat-niet"]))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "themes", 0]
    r = await post_signal(client, intake, signal(provider_agb="1234567"))
    assert r.status_code == 422
    r = await post_signal(client, intake, signal(zorgkantoor_code="55210"))
    assert r.status_code == 422
    r = await post_signal(client, intake, signal(commitment_ids=[str(uuid.uuid4())]))
    assert r.status_code == 422
    r = await post_signal(client, intake, signal(anonymous=True, client_reference="x"))
    assert r.status_code == 422


async def test_natural_key_dedupe(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    body = signal()
    first = await post_signal(client, intake, body)
    assert first.status_code == 201
    again = await post_signal(client, intake, body)  # new Idempotency-Key, same natural key
    assert again.status_code == 409 and again.json()["existing_id"] == first.json()["id"]
