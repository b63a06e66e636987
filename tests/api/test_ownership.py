"""Who may change what: for each write, every kind of caller, and the answer each gets (a table per case).

Callers: no key, a read key, a write key bound to the owning party, one bound to another party, an unbound write
key (staff), an admin key. A refusal by ownership is a 403 problem that names the owning party."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.factories import create_action, create_commitment, create_milestone, create_party

CALLERS = ("anonymous", "read", "owner", "other", "staff", "admin")


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: dict, make_key: Any) -> dict[str, Any]:
    fokus = await create_party(client, admin, name="Stichting Fokus Wonen", kind="provider")
    vws = await create_party(client, admin, name="Ministerie van VWS", kind="ministry")
    keys = {
        "anonymous": {},
        "read": await make_key(["read"]),
        "owner": await make_key(["write"], uuid.UUID(fokus["id"])),
        "other": await make_key(["write"], uuid.UUID(vws["id"])),
        "staff": await make_key(["write"]),
        "admin": admin,
    }
    return {"fokus": fokus, "vws": vws, "keys": keys}


async def answers(
    world: dict[str, Any], send: Callable[[dict[str, str]], Awaitable[httpx.Response]]
) -> dict[str, int]:
    """Each caller's status code; a refused party-bound write names the owner."""
    codes = {}
    for caller in CALLERS:
        r = await send(world["keys"][caller])
        codes[caller] = r.status_code
        if r.status_code == 403:
            assert r.headers["content-type"] == "application/problem+json"
            detail = r.json()["detail"]
            if "belongs to" in detail:  # refused by ownership: names the owning party
                assert world["fokus"]["id"] in detail and "Stichting Fokus Wonen" in detail, detail
            else:
                assert any(word in detail for word in ("staff", "admin", "scope")), detail
    return codes


OWNED = {"anonymous": 401, "read": 403, "owner": 200, "other": 403, "staff": 200, "admin": 200}


async def test_commitments_of_a_party(client: httpx.AsyncClient, world: dict[str, Any], admin: dict) -> None:
    fokus = world["fokus"]["id"]
    made = await create_commitment(client, admin, title="Zzp-afbouw", owner_party_id=fokus)
    path = f"/v1/commitments/{made['id']}"
    assert (
        await answers(world, lambda h: client.patch(path, json={"description": "bijgewerkt"}, headers=h))
        == OWNED
    )
    # creating one for a party: only that party's key (or staff)
    create = await answers(
        world,
        lambda h: client.post("/v1/commitments", json={"title": "Nieuw", "owner_party_id": fokus}, headers=h),
    )
    assert create == {**OWNED, "owner": 201, "staff": 201, "admin": 201}
    # a party-bound key cannot give its commitment away, nor take another's
    owner = world["keys"]["owner"]
    r = await client.patch(path, json={"owner_party_id": world["vws"]["id"]}, headers=owner)
    assert r.status_code == 403 and world["vws"]["id"] in r.json()["detail"]
    # a staff record (no owner) is not a party's to change
    staff_made = await create_commitment(client, admin, title="Zonder eigenaar")
    r = await client.patch(f"/v1/commitments/{staff_made['id']}", json={"title": "x"}, headers=owner)
    assert r.status_code == 403 and "staff" in r.json()["detail"]


async def test_actions_milestones_measurements_and_fulfilment_follow_the_commitment(
    client: httpx.AsyncClient, world: dict[str, Any], admin: dict
) -> None:
    commitment = await create_commitment(
        client, admin, title="Zzp-afbouw", owner_party_id=world["fokus"]["id"], due_date="2026-07-01"
    )
    action = await create_action(client, admin, commitment["id"], state="planned")
    milestone = await create_milestone(client, admin, commitment["id"])
    assert (
        await answers(
            world,
            lambda h: client.patch(f"/v1/actions/{action['id']}", json={"state": "in_progress"}, headers=h),
        )
        == OWNED
    )
    assert (
        await answers(
            world,
            lambda h: client.patch(
                f"/v1/milestones/{milestone['id']}", json={"title": "Mijlpaal"}, headers=h
            ),
        )
        == OWNED
    )
    days = iter(f"2026-0{n}-01" for n in range(1, 7))
    measured = await answers(
        world,
        lambda h: client.post(
            f"/v1/milestones/{milestone['id']}/measurements",
            json={"date": next(days), "value": 50},
            headers=h,
        ),
    )
    assert measured == {**OWNED, "owner": 201, "staff": 201, "admin": 201}
    claim = {
        "kind": "fulfilled",
        "date": "2026-06-30",
        "summary": "Alle assistenten in loondienst",
        "evidence": [{"url": "https://www.fokus.nl/jaarverslag"}],
    }
    put = await answers(
        world, lambda h: client.put(f"/v1/commitments/{commitment['id']}/fulfilment", json=claim, headers=h)
    )
    assert {k: v in (200, 201) for k, v in put.items()} == {k: v == 200 for k, v in OWNED.items()}
    assert (
        await client.delete(f"/v1/commitments/{commitment['id']}/fulfilment", headers=world["keys"]["other"])
    ).status_code == 403


async def test_staff_records_admin_only_changes_and_party_codes(
    client: httpx.AsyncClient, world: dict[str, Any], admin: dict
) -> None:
    fokus = world["fokus"]
    # parties, sources and recommendations are kept by staff
    renamed = await answers(
        world, lambda h: client.patch(f"/v1/parties/{fokus['id']}", json={"name": "Fokus"}, headers=h)
    )
    assert renamed == {**OWNED, "owner": 403}  # a party-bound key never changes its own party
    # the codes that decide signal access: admin only, for staff keys too
    coded = await answers(
        world, lambda h: client.patch(f"/v1/parties/{fokus['id']}", json={"agb_code": "12345678"}, headers=h)
    )
    assert coded == {**OWNED, "owner": 403, "staff": 403}
    # status overrides are an admin's decision
    commitment = await create_commitment(
        client, admin, title="Te laat", owner_party_id=fokus["id"], due_date="2001-01-01"
    )
    override = {"status": "on_track", "reason": "Uitstel afgesproken.", "expires_at": "2099-01-01T00:00:00Z"}
    set_ = await answers(
        world,
        lambda h: client.put(f"/v1/commitments/{commitment['id']}/status-override", json=override, headers=h),
    )
    assert set_ == {**OWNED, "owner": 403, "staff": 403}
    # a commitment with status history is deleted only by an admin
    assert (
        await client.post(f"/v1/commitments/{commitment['id']}/recalculate", headers=admin)
    ).status_code == 200
    path = f"/v1/commitments/{commitment['id']}"
    assert (await client.delete(path, headers=world["keys"]["owner"])).status_code == 403
    assert (await client.delete(path, headers=world["keys"]["staff"])).status_code == 403
    assert (await client.delete(path, headers=admin)).status_code == 204
