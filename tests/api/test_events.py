"""The change feed through the API: what each write announces, what it does not, order, cursors and scope."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.worker.queue import InProcessQueue
from shared.commitments.service import CommitmentService
from shared.events.schemas import EventOut
from shared.events.service import Audience, EventType, NewEvent, emit
from tests.api.test_fulfilment import EVIDENCE
from tests.api.test_status import fokus
from tests.factories import create_commitment, create_party


async def feed(client: httpx.AsyncClient, headers: dict | None = None, **params: Any) -> dict:
    r = await client.get("/v1/events", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


async def everything(client: httpx.AsyncClient, headers: dict | None = None, **params: Any) -> list[dict]:
    """The whole feed, page by page (limit 2 to exercise the cursor)."""
    items: list[dict] = []
    body = await feed(client, headers, limit=2, **params)
    while body["items"]:
        items += body["items"]
        body = await feed(client, headers, limit=2, after=body["next_cursor"], **params)
    return items


async def test_commitment_writes_and_status_changes_are_announced(
    client: httpx.AsyncClient, writer: dict, admin: dict, queue: InProcessQueue
) -> None:
    commitment, milestone = await fokus(client, writer)
    cid, path = commitment["id"], f"/v1/commitments/{commitment['id']}"
    r = await client.patch(path, json={"title": "Alle ADL-assistenten in loondienst"}, headers=writer)
    assert r.status_code == 200
    r = await client.patch(path, json={"title": "Alle ADL-assistenten in loondienst"}, headers=writer)
    assert r.status_code == 200  # the same title again: no change, no event
    await queue.drain()  # the recalculations the writes enqueued
    events = await everything(client)
    kinds = [(e["type"], e["subject"]) for e in events]
    assert kinds[:2] == [("commitment.created", path), ("commitment.updated", path)]
    assert events[1]["payload"] == {"commitment_id": cid, "key": "fokus-adl-loondienst", "fields": ["title"]}
    [changed] = [e for e in events if e["type"] == "commitment.status_changed"]
    assert changed["subject"] == path and changed["payload"]["new_status"] == "off_track"
    assert changed["payload"]["old_status"] == "open" and changed["payload"]["rules"] == ["milestone"]
    assert changed["payload"]["new_schedule"] and changed["payload"]["old_schedule"]
    [moved] = [e for e in events if e["type"] == "milestone.status_changed"]
    assert moved["subject"] == f"/v1/milestones/{milestone['id']}"
    assert moved["payload"] == {
        "milestone_id": milestone["id"],
        "commitment_id": cid,
        "old_status": "pending",
        "new_status": "missed",
    }
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    for e in events:  # the rows are serialised directly: exactly EventOut's fields
        assert set(e) == {"id", "type", "time", "subject", "payload"} and e["time"].endswith("Z")
        assert (
            EventOut.model_validate({**e, "at": e["time"]}).model_dump(mode="json")["subject"] == e["subject"]
        )

    # A recalculation that changes no status announces nothing.
    before = await feed(client, limit=500)
    r = await client.post(f"{path}/recalculate", headers=writer)
    assert r.status_code == 200
    await queue.drain()
    after = await feed(client, after=before["next_cursor"])
    assert after["items"] == [] and after["next_cursor"] == before["next_cursor"]

    r = await client.delete(path, headers=admin)  # it has status history
    assert r.status_code == 204
    last = await feed(client, after=before["next_cursor"])
    assert [(e["type"], e["payload"]) for e in last["items"]] == [
        ("commitment.deleted", {"commitment_id": cid, "key": "fokus-adl-loondienst"})
    ]


async def test_types_filter_and_cursor(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    made = [await create_commitment(client, writer, key=f"c-{n}") for n in range(3)]
    r = await client.patch(f"/v1/commitments/{made[0]['id']}", json={"title": "Anders"}, headers=writer)
    assert r.status_code == 200
    await queue.drain()
    created = await everything(client, types="commitment.created")
    assert [e["payload"]["key"] for e in created] == ["c-0", "c-1", "c-2"]
    both = await everything(client, types=["commitment.created", "commitment.updated"])
    assert {e["type"] for e in both} == {"commitment.created", "commitment.updated"}
    assert await everything(client, types="commitment.created,commitment.updated") == both
    r = await client.get("/v1/events", params={"types": "commitment.nonsense"})
    assert r.status_code == 422
    for bad in ("12", "x_1", "1_" + "9" * 60):
        r = await client.get("/v1/events", params={"after": bad})
        assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json", bad


async def test_a_rolled_back_write_leaves_no_event(client: httpx.AsyncClient, session_factory: Any) -> None:
    async with session_factory() as session:
        await CommitmentService(session).create({"title": "Nooit bewaard", "key": "rolled-back"})
        await session.rollback()
    async with session_factory() as session:
        await CommitmentService(session).create({"title": "Bewaard", "key": "kept"})
        await session.commit()
    assert [e["payload"]["key"] for e in await everything(client)] == ["kept"]


async def test_signal_batch_events_are_scoped(
    client: httpx.AsyncClient, admin: dict, make_key: Any, session_factory: Any
) -> None:
    ours = await create_party(
        client, admin, name="Zorgkantoor Oost", kind="zorgkantoor", zorgkantoor_code="5501"
    )
    theirs = await create_party(
        client, admin, name="Zorgkantoor West", kind="zorgkantoor", zorgkantoor_code="5502"
    )
    async with session_factory() as session:
        for party in (ours, theirs):
            await emit(
                session,
                NewEvent(
                    EventType.signals_batch_finished,
                    f"/v1/signals/batches/{party['id']}",
                    {"accepted": 1},
                    Audience.signals,
                    uuid.UUID(party["id"]),
                ),
            )
        await emit(
            session,
            NewEvent(EventType.webhook_disabled, "/v1/webhooks/x", {}, Audience.party, uuid.UUID(ours["id"])),
        )
        await session.commit()

    def batches(items: list[dict]) -> list[str]:
        return [e["subject"].rsplit("/", 1)[1] for e in items if e["type"] == "signals.batch.finished"]

    assert batches(await everything(client)) == []  # anonymous: public events only
    bound = await make_key(["read", "signals:read"], party_id=uuid.UUID(ours["id"]))
    assert batches(await everything(client, bound)) == [ours["id"]]
    assert [e["type"] for e in await everything(client, bound, types="webhook.disabled")] == [
        "webhook.disabled"
    ]
    other = await make_key(["read", "signals:read", "write"], party_id=uuid.UUID(theirs["id"]))
    assert batches(await everything(client, other)) == [theirs["id"]]
    assert await everything(client, other, types="webhook.disabled") == []
    staff = await make_key(["read", "signals:read"])
    assert sorted(batches(await everything(client, staff))) == sorted([ours["id"], theirs["id"]])
    assert await everything(client, staff, types="webhook.disabled") == []  # staff: needs write
    no_signals = await make_key(["read"], party_id=uuid.UUID(ours["id"]))
    assert batches(await everything(client, no_signals)) == []


async def test_retention_purges_old_events_only(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue, session_factory: Any
) -> None:
    import datetime as dt

    from sqlalchemy import update

    from shared.events.models import Event

    await create_commitment(client, writer, key="oud")
    await create_commitment(client, writer, key="nieuw")
    async with session_factory() as session:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=queue.ctx["settings"].event_retention_days + 1)
        await session.execute(update(Event).where(Event.payload["key"].as_string() == "oud").values(at=old))
        await session.commit()
    await queue.enqueue("events.purge")
    await queue.drain()
    assert [e["payload"]["key"] for e in await everything(client, types="commitment.created")] == ["nieuw"]


async def test_fulfilment_is_announced(
    client: httpx.AsyncClient, writer: dict, admin: dict, queue: InProcessQueue
) -> None:
    commitment = await create_commitment(client, writer, key="vervuld")
    path = f"/v1/commitments/{commitment['id']}/fulfilment"
    r = await client.put(
        path,
        json={"kind": "fulfilled", "date": "2026-11-01", "summary": "Gedaan", "evidence": EVIDENCE},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"{path}/review", json={"decision": "accepted"}, headers=admin)
    assert r.status_code == 200, r.text
    events = await everything(client, types="fulfilment.recorded,fulfilment.reviewed")
    assert [(e["type"], e["subject"]) for e in events] == [
        ("fulfilment.recorded", path),
        ("fulfilment.reviewed", path),
    ]
    assert events[0]["payload"]["claim"] == "fulfilled" and events[1]["payload"]["decision"] == "accepted"
