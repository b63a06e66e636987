"""Provenance and people: who created and last changed a record, the person responsible for it, and a
commitment's own history of edits (GET /v1/commitments/{id}/changes)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from shared.auth.models import ApiKey
from shared.auth.service import create_api_key, hash_key
from shared.commitments.service import CommitmentService
from shared.errors import ValidationFailed
from tests.factories import create, create_action, create_commitment, create_milestone, create_party


async def test_created_by_and_updated_by_name_the_writers(
    client: httpx.AsyncClient, admin: dict, make_key: Any, session_factory: Any
) -> None:
    fokus = await create_party(client, admin, name="Stichting Fokus Wonen", kind="provider")
    staff = await make_key(["read", "write"])
    own = await make_key(["write"], uuid.UUID(fokus["id"]))
    made = await create_commitment(client, staff, title="Zzp-afbouw", owner_party_id=fokus["id"])
    assert made["created_by"] == made["updated_by"] == {"name": "test read,write", "party_id": None}

    changed = await client.patch(
        f"/v1/commitments/{made['id']}", json={"title": "Zzp-afbouw 2026"}, headers=own
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["created_by"] == {"name": "test read,write", "party_id": None}
    assert body["updated_by"] == {"name": "test write", "party_id": fokus["id"]}
    # the list reads the same columns (on PostgreSQL straight from the table, without the ORM)
    listed = (await client.get("/v1/commitments", params={"owner_party_id": fokus["id"]})).json()["items"]
    assert [(i["created_by"], i["updated_by"]) for i in listed] == [(body["created_by"], body["updated_by"])]

    # every other record kind a party writes
    action = await create_action(client, own, made["id"])
    milestone = await create_milestone(client, own, made["id"])
    measured = await client.post(
        f"/v1/milestones/{milestone['id']}/measurements", json={"date": "2026-06-01", "value": 4}, headers=own
    )
    claim = {
        "kind": "fulfilled",
        "date": "2026-01-02",
        "summary": "Gedaan",
        "evidence": [{"url": "https://www.fokus.nl/jaarverslag"}],
    }
    put = await client.put(f"/v1/commitments/{made['id']}/fulfilment", json=claim, headers=own)
    party_key = {"name": "test write", "party_id": fokus["id"]}
    for written in (action, milestone, measured.json(), put.json()):
        assert written["created_by"] == written["updated_by"] == party_key, written
    listed_milestone = (await client.get("/v1/milestones", params={"commitment_id": made["id"]})).json()[
        "items"
    ][0]
    assert listed_milestone["measurements"][0]["created_by"] == party_key
    assert fokus["created_by"] == {"name": "test admin", "party_id": None}

    # written without an actor (the seed loader, a CLI import): nobody is named
    async with session_factory() as s:
        seeded = await CommitmentService(s).create({"title": "Uit de seed"})
        await s.commit()
    got = (await client.get(f"/v1/commitments/{seeded.id}")).json()
    assert got["created_by"] is None and got["updated_by"] is None


async def test_owner_person_is_set_cleared_and_filtered(
    client: httpx.AsyncClient, admin: dict, writer: dict
) -> None:
    vws = await create_party(client, admin, name="Ministerie van VWS", kind="ministry")
    person = {"name": "Jörg de Vries", "role": "programmamanager", "party_id": vws["id"]}
    made = await create_commitment(client, writer, owner_person=person)
    other = await create_commitment(client, writer, owner_person={"name": "A. Jansen"})
    await create_commitment(client, writer)
    assert made["owner_person"] == person
    assert other["owner_person"] == {"name": "A. Jansen", "role": None, "party_id": None}

    # exact and case-insensitive (also beyond ASCII), on the list and on the counts
    for spelled in ("jörg de vries", "JÖRG DE VRIES", "Jörg  de Vries"):
        found = (await client.get("/v1/commitments", params={"owner_person": spelled})).json()["items"]
        assert [c["id"] for c in found] == [made["id"]], spelled
    assert (await client.get("/v1/commitments", params={"owner_person": "de Vries"})).json()["items"] == []
    counts = (await client.get("/v1/commitments/counts", params={"owner_person": "a. jansen"})).json()
    assert counts["total"] == 1

    action = await create_action(
        client, writer, made["id"], owner_person={"name": "P. Bakker", "role": "teamleider"}
    )
    milestone = await create_milestone(client, writer, made["id"], owner_person={"name": "P. Bakker"})
    assert [
        a["id"]
        for a in (await client.get("/v1/actions", params={"owner_person": "p. bakker"})).json()["items"]
    ] == [action["id"]]
    assert [
        m["id"]
        for m in (await client.get("/v1/milestones", params={"owner_person": "P. BAKKER"})).json()["items"]
    ] == [milestone["id"]]

    # PATCH replaces it; null clears it
    r = await client.patch(
        f"/v1/commitments/{made['id']}", json={"owner_person": {"name": "K. Smit"}}, headers=writer
    )
    assert r.json()["owner_person"] == {"name": "K. Smit", "role": None, "party_id": None}
    assert (await client.get("/v1/commitments", params={"owner_person": "jörg de vries"})).json()[
        "items"
    ] == []
    r = await client.patch(f"/v1/commitments/{made['id']}", json={"owner_person": None}, headers=writer)
    assert r.json()["owner_person"] is None
    assert (await client.get("/v1/commitments", params={"owner_person": "k. smit"})).json()["items"] == []


async def test_owner_person_holds_no_other_personal_data(client: httpx.AsyncClient, writer: dict) -> None:
    refused = [
        ({"name": "J. de Vries", "email": "j@vws.nl"}, ["body", "owner_person", "email"]),
        ({"name": "J. de Vries 111222333"}, ["body", "owner_person", "name"]),
        ({"name": "J. de Vries", "role": "bsn 111 222 333"}, ["body", "owner_person", "role"]),
        ({"name": " "}, ["body", "owner_person", "name"]),
        ({"name": "J. de Vries", "party_id": str(uuid.uuid4())}, ["body", "owner_person", "party_id"]),
    ]
    for person, loc in refused:
        r = await client.post("/v1/commitments", json={"title": "T", "owner_person": person}, headers=writer)
        assert r.status_code == 422, (person, r.text)
        assert loc in [e["loc"] for e in r.json()["errors"]], (person, r.json())
        assert "111" not in r.text
    r = await client.get("/v1/commitments", params={"owner_person": "Jan 111222333"})
    assert r.status_code == 422 and "111222333" not in r.text


async def test_changes_are_the_commitments_own_history(
    client: httpx.AsyncClient, admin: dict, make_key: Any
) -> None:
    fokus = await create_party(client, admin, name="Stichting Fokus Wonen", kind="provider")
    own = await make_key(["write"], uuid.UUID(fokus["id"]))
    made = await create_commitment(client, own, owner_party_id=fokus["id"], due_date="2026-07-01")
    elsewhere = await create_commitment(client, own, owner_party_id=fokus["id"])
    cid = made["id"]
    await client.patch(
        f"/v1/commitments/{cid}", json={"due_date": "2026-09-01"}, headers={**own, "X-Request-ID": "r-1"}
    )
    action = await create_action(client, own, cid)
    on_action = await create(
        client, "/v1/milestones", own, action_id=action["id"], title="Via de actie", due_date="2026-07-01"
    )
    milestone = await create_milestone(client, own, cid)
    await client.post(
        f"/v1/milestones/{milestone['id']}/measurements", json={"date": "2026-06-01", "value": 4}, headers=own
    )
    claim = {
        "kind": "fulfilled",
        "date": "2026-01-02",
        "summary": "Gedaan",
        "evidence": [{"url": "https://www.fokus.nl/jaarverslag"}],
    }
    await client.put(f"/v1/commitments/{cid}/fulfilment", json=claim, headers=own)
    override = {"status": "at_risk", "reason": "Vertraagd", "expires_at": "2030-01-31T00:00:00Z"}
    assert (
        await client.put(f"/v1/commitments/{cid}/status-override", json=override, headers=admin)
    ).status_code == 200
    assert (await client.delete(f"/v1/milestones/{on_action['id']}", headers=own)).status_code == 204
    await client.patch(f"/v1/commitments/{elsewhere['id']}", json={"title": "Iets anders"}, headers=own)

    # anyone who may read the commitment (public reads are on by default), not only an admin
    r = await client.get(f"/v1/commitments/{cid}/changes", params={"limit": 100})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == [
        "milestones.delete",
        "status_overrides.put",
        "fulfilments.put",
        "measurements.create",
        "milestones.create",
        "milestones.create",
        "actions.create",
        "commitments.update",
        "commitments.create",
    ]
    update = next(i for i in items if i["action"] == "commitments.update")
    assert update["detail"] == {"changes": {"due_date": ["2026-07-01", "2026-09-01"]}}
    assert update["record_id"] == cid and update["actor"] == {"name": "test write", "party_id": fokus["id"]}
    assert all(set(i) == {"id", "at", "action", "resource", "record_id", "actor", "detail"} for i in items)
    assert "r-1" not in r.text  # no request ids, no key ids

    # one page at a time, like every list
    first = (await client.get(f"/v1/commitments/{cid}/changes", params={"limit": 4})).json()
    second = (
        await client.get(
            f"/v1/commitments/{cid}/changes", params={"limit": 10, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in items]
    assert second["next_cursor"] is None

    assert (await client.get(f"/v1/commitments/{uuid.uuid4()}/changes")).status_code == 404


async def test_audit_filters_by_resource_and_record(
    client: httpx.AsyncClient, admin: dict, writer: dict
) -> None:
    made = await create_commitment(client, writer)
    milestone = await create_milestone(client, writer, made["id"])
    await client.patch(f"/v1/milestones/{milestone['id']}", json={"title": "Nieuw"}, headers=writer)
    r = await client.get(
        "/v1/audit", params={"resource": "milestones", "record_id": milestone["id"]}, headers=admin
    )
    assert [e["action"] for e in r.json()["items"]] == ["milestones.update", "milestones.create"]
    r = await client.get(
        "/v1/audit", params={"resource": "commitments", "record_id": milestone["id"]}, headers=admin
    )
    assert r.json()["items"] == []
    assert (
        await client.get("/v1/audit", params={"record_id": made["id"]}, headers=writer)
    ).status_code == 403


async def test_a_writer_name_never_shows_a_bsn(
    client: httpx.AsyncClient, admin: dict, session_factory: Any
) -> None:
    async with session_factory() as s:
        with pytest.raises(ValidationFailed):
            await create_api_key(s, name="J. Jansen 111 222 333", scopes=["write"])
        # A name stored before the screen (or a signed-in person's display name from an identity provider)
        raw = f"nk_abcd1234_{uuid.uuid4().hex}"
        s.add(ApiKey(name="J. Jansen 111222333", prefix="abcd1234", key_hash=hash_key(raw), scopes=["write"]))
        await s.commit()
    made = await create_commitment(client, {"Authorization": f"Bearer {raw}"})
    assert made["created_by"]["name"].startswith("J. Jansen ") and "111222333" not in str(made)
    changes = await client.get(f"/v1/commitments/{made['id']}/changes")
    audit = await client.get("/v1/audit", params={"record_id": made["id"]}, headers=admin)
    assert "111222333" not in changes.text + audit.text and "J. Jansen" in changes.text
