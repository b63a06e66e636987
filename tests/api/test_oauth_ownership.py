"""Who may change what, with OAuth2 access tokens instead of API keys: the same callers, the same answers
(tests/api/test_ownership.py has the key version; its table and checks are reused here unchanged)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.test_ownership import OWNED, answers
from tests.factories import create_action, create_commitment, create_milestone, create_party


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: dict, make_token: Any) -> dict[str, Any]:
    fokus = await create_party(client, admin, name="Stichting Fokus Wonen", kind="provider")
    vws = await create_party(client, admin, name="Ministerie van VWS", kind="ministry")
    keys = {
        "anonymous": {},
        "read": await make_token(["read"]),
        "owner": await make_token(["write"], uuid.UUID(fokus["id"])),
        "other": await make_token(["write"], uuid.UUID(vws["id"])),
        "staff": await make_token(["write"]),
        "admin": await make_token(["admin"]),
    }
    return {"fokus": fokus, "vws": vws, "keys": keys}


async def test_writes_with_tokens(client: httpx.AsyncClient, world: dict[str, Any], admin: dict) -> None:
    fokus = world["fokus"]["id"]
    made = await create_commitment(
        client, admin, title="Zzp-afbouw", owner_party_id=fokus, due_date="2026-07-01"
    )
    path = f"/v1/commitments/{made['id']}"
    expected = {
        "commitment update": OWNED,
        "commitment create": {**OWNED, "owner": 201, "staff": 201, "admin": 201},
        "action update": OWNED,
        "milestone update": OWNED,
        "measurement create": {**OWNED, "owner": 201, "staff": 201, "admin": 201},
        "party rename": {**OWNED, "owner": 403},
        "party code": {**OWNED, "owner": 403, "staff": 403},
        "status override": {**OWNED, "owner": 403, "staff": 403},
    }
    action = await create_action(client, admin, made["id"], state="planned")
    milestone = await create_milestone(client, admin, made["id"])
    days = iter(f"2026-0{n}-01" for n in range(1, 7))
    override = {"status": "on_track", "reason": "Uitstel afgesproken.", "expires_at": "2099-01-01T00:00:00Z"}
    sends = {
        "commitment update": lambda h: client.patch(path, json={"description": "bijgewerkt"}, headers=h),
        "commitment create": lambda h: client.post(
            "/v1/commitments", json={"title": "Nieuw", "owner_party_id": fokus}, headers=h
        ),
        "action update": lambda h: client.patch(
            f"/v1/actions/{action['id']}", json={"state": "in_progress"}, headers=h
        ),
        "milestone update": lambda h: client.patch(
            f"/v1/milestones/{milestone['id']}", json={"title": "M"}, headers=h
        ),
        "measurement create": lambda h: client.post(
            f"/v1/milestones/{milestone['id']}/measurements",
            json={"date": next(days), "value": 50},
            headers=h,
        ),
        "party rename": lambda h: client.patch(f"/v1/parties/{fokus}", json={"name": "Fokus"}, headers=h),
        "party code": lambda h: client.patch(
            f"/v1/parties/{fokus}", json={"agb_code": "12345678"}, headers=h
        ),
        "status override": lambda h: client.put(f"{path}/status-override", json=override, headers=h),
    }
    got = {case: await answers(world, send) for case, send in sends.items()}
    assert got == expected


async def test_token_writes_are_audited_with_the_client(
    client: httpx.AsyncClient, world: dict[str, Any], admin: dict
) -> None:
    r = await client.post(
        "/v1/commitments",
        json={"title": "Van een systeem", "owner_party_id": world["fokus"]["id"]},
        headers=world["keys"]["owner"],
    )
    assert r.status_code == 201
    entries = (await client.get("/v1/audit", params={"record_id": r.json()["id"]}, headers=admin)).json()[
        "items"
    ]
    assert len(entries) == 1 and entries[0]["client_id"].startswith("nkc_") and entries[0]["key_id"] is None
    assert entries[0]["actor"] == "test client write" and entries[0]["party_id"] == world["fokus"]["id"]
