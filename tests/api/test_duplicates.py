"""A repeated create of a record with a natural key is a 409 naming the existing record, for every resource."""

from __future__ import annotations

import httpx

from tests.factories import create_commitment, create_theme


async def test_repeated_theme_is_a_conflict_not_a_500(client: httpx.AsyncClient, admin: dict) -> None:
    await create_theme(client, admin, "bejegening")
    r = await client.post(
        "/v1/themes", json={"key": "bejegening", "label_nl": "x", "label_en": "x"}, headers=admin
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["existing_id"] == "bejegening" and r.headers["x-request-id"]


async def test_repeated_commitment_key_names_the_existing_one(
    client: httpx.AsyncClient, writer: dict
) -> None:
    first = await create_commitment(client, writer, title="Eerste", key="vaste-teams")
    r = await client.post("/v1/commitments", json={"title": "Tweede", "key": "vaste-teams"}, headers=writer)
    assert r.status_code == 409 and r.json()["existing_id"] == first["id"]
    assert "vaste-teams" not in r.json()["detail"]  # input values are never echoed
