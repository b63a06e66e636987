"""PATCH /v1/signals/{id}: status and outcome after intake, the Wkkgz extension, If-Match, scoping, audit."""

from __future__ import annotations

import uuid

import httpx

from tests.api.test_audit import audit
from tests.factories import create_party, post_signal, signal


async def patch(
    client: httpx.AsyncClient, headers: dict, sid: str, body: dict, etag: str | None = None
) -> httpx.Response:
    return await client.patch(
        f"/v1/signals/{sid}", json=body, headers={**headers, **({"If-Match": etag} if etag else {})}
    )


async def test_course_of_a_complaint(client: httpx.AsyncClient, themes: None, make_key) -> None:
    key = await make_key(["signals:read", "signals:write"])
    idem, body = uuid.uuid4().hex, signal()
    first = await post_signal(client, key, body, key=idem)
    assert first.status_code == 201 and first.headers["etag"] == '"1"'  # usable for a PATCH right away
    created = first.json()
    sid = created["id"]
    assert created["status"] == "ontvangen" and created["judgement_due_date"] == "2026-03-16"
    got = await client.get(f"/v1/signals/{sid}", headers=key)
    assert got.headers["etag"] == '"1"'
    replay = await post_signal(client, key, body, key=idem)
    assert replay.headers["idempotent-replayed"] == "true" and "etag" not in replay.headers

    r = await patch(client, key, sid, {"status": "in_behandeling"}, etag='"1"')
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_behandeling" and r.headers["etag"] == '"2"'
    # The Wkkgz extension: once, +4 weeks on the 6.
    r = await patch(client, key, sid, {"extension_recorded": True}, etag='"2"')
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    assert r.json()["extension_recorded"] is True and r.json()["judgement_due_date"] == "2026-04-13"
    r = await patch(client, key, sid, {"extension_recorded": True})
    assert r.status_code == 200 and r.headers["etag"] == '"3"'  # already recorded: nothing changes
    assert r.json()["judgement_due_date"] == "2026-04-13"
    r = await patch(client, key, sid, {"status": "oordeel", "outcome": "deels_gegrond"}, etag='"3"')
    assert r.status_code == 200 and r.json()["outcome"] == "deels_gegrond"
    r = await patch(client, key, sid, {"status": "afgesloten"})  # the judgement's outcome stays
    assert (
        r.status_code == 200 and r.json()["status"] == "afgesloten" and r.json()["outcome"] == "deels_gegrond"
    )
    assert r.headers["etag"] == '"5"'
    got = await client.get(f"/v1/signals/{sid}", headers=key)
    assert got.json() == r.json() and got.headers["etag"] == '"5"'
    # Final: no way back, no other outcome.
    r = await patch(client, key, sid, {"status": "in_behandeling"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "status"]
    r = await patch(client, key, sid, {"outcome": "gegrond"})
    assert r.status_code == 422


async def test_bad_transitions_are_422(
    client: httpx.AsyncClient, themes: None, intake: dict, make_key
) -> None:
    key = await make_key(["signals:read", "signals:write"])
    sid = (await post_signal(client, key, signal())).json()["id"]

    async def rejected(body: dict, loc: list) -> None:
        r = await patch(client, key, sid, body)
        assert r.status_code == 422, (body, r.text)
        assert loc in [e["loc"] for e in r.json()["errors"]], r.json()

    await rejected({"status": "oordeel", "outcome": "gegrond"}, ["body", "status"])  # not handled yet
    await rejected({"status": "afgesloten"}, ["body", "outcome"])  # closing needs the outcome
    await rejected({"outcome": "gegrond"}, ["body", "outcome"])  # an outcome comes with a decision
    await rejected({"extension_recorded": False, "status": "bestaat-niet"}, ["body", "status"])
    await rejected({"status": None}, ["body", "status"])  # a field error naming the field
    await rejected({"extension_recorded": None}, ["body", "extension_recorded"])
    await rejected({"summary": "x"}, ["body", "summary"])  # not changeable here
    assert (await patch(client, key, sid, {"status": "in_behandeling"})).status_code == 200
    await rejected({"status": "oordeel", "outcome": "bemiddeld"}, ["body", "outcome"])  # not a judgement
    await rejected({"status": "oordeel"}, ["body", "outcome"])
    assert (await patch(client, key, sid, {"extension_recorded": True})).status_code == 200
    await rejected({"extension_recorded": False}, ["body", "extension_recorded"])  # cannot be withdrawn
    assert (await patch(client, key, sid, {"status": "oordeel", "outcome": "ongegrond"})).status_code == 200
    # Only a complaint has a judgement term, and only before the judgement can it be extended.
    incident = (await post_signal(client, key, signal(kind="incident"))).json()["id"]
    r = await patch(client, key, incident, {"extension_recorded": True})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "extension_recorded"]
    other = (await post_signal(client, key, signal())).json()["id"]
    assert (await patch(client, key, other, {"status": "doorgezet"})).status_code == 200  # forwarded: final
    r = await patch(client, key, other, {"extension_recorded": True})
    assert r.status_code == 422
    # Nothing of the rejected requests was stored.
    got = (await client.get(f"/v1/signals/{sid}", headers=key)).json()
    assert (got["status"], got["outcome"], got["extension_recorded"]) == ("oordeel", "ongegrond", True)


async def test_if_match_412(client: httpx.AsyncClient, themes: None, make_key) -> None:
    key = await make_key(["signals:read", "signals:write"])
    sid = (await post_signal(client, key, signal())).json()["id"]
    assert (await patch(client, key, sid, {"status": "in_behandeling"}, etag='"1"')).status_code == 200
    r = await patch(client, key, sid, {"status": "doorgezet"}, etag='"1"')  # read before the change
    assert r.status_code == 412 and r.json()["type"].endswith("/precondition-failed")
    assert (await client.get(f"/v1/signals/{sid}", headers=key)).json()["status"] == "in_behandeling"
    assert (await patch(client, key, sid, {"extension_recorded": True}, etag='W/"2"')).status_code == 200
    r = await patch(client, key, sid, {"status": "doorgezet", "outcome": "doorverwezen"}, etag="*")
    assert r.status_code == 200 and r.headers["etag"] == '"4"'


async def test_scoped_like_reads(client: httpx.AsyncClient, themes: None, admin: dict, make_key) -> None:
    zk_a = await create_party(
        client, admin, name="Zorgkantoor A", kind="zorgkantoor", zorgkantoor_code="5521"
    )
    zk_b = await create_party(
        client, admin, name="Zorgkantoor B", kind="zorgkantoor", zorgkantoor_code="5522"
    )
    key_a = await make_key(["signals:read", "signals:write"], uuid.UUID(zk_a["id"]))
    key_b = await make_key(["signals:write"], uuid.UUID(zk_b["id"]))
    own = (await post_signal(client, key_a, signal(zorgkantoor_code="5521"))).json()["id"]
    hidden = await patch(client, key_b, own, {"status": "in_behandeling"})
    missing = await patch(client, key_b, str(uuid.uuid4()), {"status": "in_behandeling"})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    assert (await patch(client, key_a, own, {"status": "in_behandeling"})).status_code == 200
    reader = await make_key(["signals:read"])
    assert (
        await patch(client, reader, own, {"status": "afgesloten", "outcome": "bemiddeld"})
    ).status_code == 403
    assert (await client.patch(f"/v1/signals/{own}", json={"status": "doorgezet"})).status_code == 401
    assert (await client.get(f"/v1/signals/{own}", headers=key_a)).json()["status"] == "in_behandeling"


async def test_updates_are_audited(
    client: httpx.AsyncClient, themes: None, intake: dict, admin: dict
) -> None:
    sid = (await post_signal(client, intake, signal())).json()["id"]
    r = await client.patch(
        f"/v1/signals/{sid}",
        json={"status": "in_behandeling", "extension_recorded": True},
        headers={**intake, "X-Request-ID": "req-update-1"},
    )
    assert r.status_code == 200
    assert (
        await patch(client, intake, sid, {"status": "oordeel"})
    ).status_code == 422  # not audited: rolled back
    entries = await audit(client, admin, record_id=sid)
    assert [e["action"] for e in entries] == ["signals.update", "signals.create"]
    entry = entries[0]
    assert entry["request_id"] == "req-update-1" and entry["record_ids"] == [sid] and entry["key_id"]
    assert entry["detail"] == {
        "changes": {
            "status": ["ontvangen", "in_behandeling"],
            "extension_recorded": [False, True],
            "judgement_due_date": ["2026-03-16", "2026-04-13"],
        }
    }


async def test_concurrent_change_is_never_overwritten(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory, settings
) -> None:
    import pytest
    from sqlalchemy import update

    from shared.audit.service import Actor
    from shared.errors import Conflict, PreconditionFailed
    from shared.signals.access import UNRESTRICTED
    from shared.signals.models import ClientSignal
    from shared.signals.schemas import SignalUpdate
    from shared.signals.service import SignalService

    sid = uuid.UUID((await post_signal(client, intake, signal())).json()["id"])
    async with session_factory() as s:
        svc = SignalService(s, settings, UNRESTRICTED, Actor("test"))
        obj = await svc.load(sid)  # read at version 1 ...
        # ... then another request changes it before this one writes.
        table = ClientSignal.__table__  # Core: the loaded object keeps version 1
        await s.execute(update(table).where(table.c.id == sid).values(version=2))
        with pytest.raises(PreconditionFailed):
            await svc.update(obj, SignalUpdate(status="in_behandeling"), conditional=True)
        with pytest.raises(Conflict):
            await svc.update(obj, SignalUpdate(status="in_behandeling"), conditional=False)
        await s.rollback()
