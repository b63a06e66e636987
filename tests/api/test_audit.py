from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from tests.factories import post_signal, signal


async def audit(client: httpx.AsyncClient, admin: dict, **params) -> list[dict]:
    r = await client.get("/v1/audit", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_every_signal_access_is_audited(
    client: httpx.AsyncClient, themes: None, intake: dict, admin: dict, make_key, queue
) -> None:
    created = await post_signal(client, intake, signal())
    sid = created.json()["id"]
    staff = await make_key(["signals:read"])
    await client.get(f"/v1/signals/{sid}", headers={**staff, "X-Request-ID": "req-audit-1"})
    await client.get("/v1/signals", params={"kind": "klacht"}, headers=staff)
    batch = await client.post(
        "/v1/signals/batches",
        content=b'{"x": 1}\n',
        headers={**intake, "content-type": "application/x-ndjson"},
    )
    await queue.drain()
    entries = await audit(client, admin, record_id=sid)
    assert [e["action"] for e in entries] == [
        "signals.list",
        "signals.read",
        "signals.create",
    ]  # newest first
    read = entries[1]
    assert read["request_id"] == "req-audit-1" and read["record_ids"] == [sid] and read["key_id"]
    assert read["actor"].startswith("test ")
    assert entries[0]["detail"] == {"filters": {"limit": 50, "kind": "klacht"}}
    batch_entries = await audit(client, admin, record_id=batch.json()["id"])
    assert {e["action"] for e in batch_entries} == {"signals.batch_create", "signals.batch_processed"}
    # Failed writes leave nothing behind; only admins read the log.
    before = len(await audit(client, admin, action="signals.create", limit=500))
    await post_signal(client, intake, signal(themes=["bestaat-niet"]))
    assert len(await audit(client, admin, action="signals.create", limit=500)) == before
    assert (await client.get("/v1/audit", headers=staff)).status_code == 403
    assert (await client.get("/v1/audit")).status_code == 401


@pytest.mark.postgres_only
async def test_audit_log_is_append_only(session, backend) -> None:
    from shared.audit.service import Actor, record

    await record(session, Actor("t"), "x.test", "thing", [uuid.uuid4()])
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE audit_log SET actor = 'someone else'"))
