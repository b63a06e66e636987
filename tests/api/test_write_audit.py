"""Every write lands in the append-only audit log with who (key, party, request id), what (action, record) and the
old and new values of the fields it changed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import create_commitment, create_milestone, create_party


async def entries(client: httpx.AsyncClient, admin: dict, record_id: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/audit", params={"record_id": record_id, "limit": 100}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # newest first


async def test_writes_are_audited_with_old_and_new_values(
    client: httpx.AsyncClient, admin: dict, make_key: Any
) -> None:
    fokus = await create_party(client, admin, name="Stichting Fokus Wonen", kind="provider")
    key = await make_key(["write"], uuid.UUID(fokus["id"]))
    made = await create_commitment(
        client, key, title="Zzp-afbouw", owner_party_id=fokus["id"], due_date="2026-07-01"
    )
    cid = made["id"]
    r = await client.patch(
        f"/v1/commitments/{cid}",
        json={"due_date": "2026-09-01", "title": "Zzp-afbouw"},
        headers={**key, "X-Request-ID": "req-move-1"},
    )
    assert r.status_code == 200
    milestone = await create_milestone(client, key, cid)
    measured = await client.post(
        f"/v1/milestones/{milestone['id']}/measurements",
        json={"date": "2026-06-01", "value": 80},
        headers=key,
    )
    assert measured.status_code == 201
    claim = {
        "kind": "fulfilled",
        "date": "2026-08-30",
        "summary": "Alle assistenten in loondienst",
        "evidence": [{"url": "https://www.fokus.nl/jaarverslag"}],
    }
    put = await client.put(f"/v1/commitments/{cid}/fulfilment", json=claim, headers=key)
    assert put.status_code in (200, 201)

    log = await entries(client, admin, cid)
    actions = [e["action"] for e in log]
    assert "commitments.create" in actions and "commitments.update" in actions
    update = next(e for e in log if e["action"] == "commitments.update")
    # only what changed, old and new; the title was sent unchanged
    assert update["detail"] == {"changes": {"due_date": ["2026-07-01", "2026-09-01"]}}
    assert update["request_id"] == "req-move-1" and update["party_id"] == fokus["id"] and update["key_id"]
    created = next(e for e in log if e["action"] == "commitments.create")
    assert (
        created["detail"]["new"]["title"] == "Zzp-afbouw"
        and created["detail"]["new"]["owner_party_id"] == fokus["id"]
    )
    fulfilment = await entries(client, admin, put.json()["id"])
    assert [e["action"] for e in fulfilment] == ["fulfilments.put"]
    assert [e["action"] for e in await entries(client, admin, measured.json()["id"])] == [
        "measurements.create"
    ]

    # a refused write leaves nothing; a delete keeps the old values
    other = await create_party(client, admin, name="Ministerie van VWS", kind="ministry")
    stranger = await make_key(["write"], uuid.UUID(other["id"]))
    before = len(await entries(client, admin, cid))
    assert (
        await client.patch(f"/v1/commitments/{cid}", json={"title": "Weg"}, headers=stranger)
    ).status_code == 403
    assert len(await entries(client, admin, cid)) == before
    assert (await client.delete(f"/v1/milestones/{milestone['id']}", headers=key)).status_code == 204
    deleted = (await entries(client, admin, milestone["id"]))[0]
    assert deleted["action"] == "milestones.delete" and deleted["detail"]["old"]["commitment_id"] == cid
