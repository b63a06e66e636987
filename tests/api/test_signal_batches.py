from __future__ import annotations

import uuid

import httpx
import orjson
from sqlalchemy import func, select

from shared.signals.batches import process_batch
from shared.signals.models import ClientSignal, SignalBatch
from tests.factories import signal


def ndjson(records: list) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records) + b"\n"


async def upload(client: httpx.AsyncClient, headers: dict, body: bytes, content_type: str) -> httpx.Response:
    return await client.post(
        "/v1/signals/batches", content=body, headers={**headers, "content-type": content_type}
    )


async def test_mixed_good_and_bad_lines(
    client: httpx.AsyncClient, themes: None, intake: dict, queue, make_key
) -> None:
    good = [signal(external_id=f"B-{i}") for i in range(5)]
    lines = [
        good[0],
        good[1],
        b"{not json",
        signal(external_id="B-bad-theme", themes=["bestaat-niet"]),
        good[2],
        signal(external_id="B-bsn", summary="bsn 111222333"),
        {**signal(external_id="B-bsn-field"), "bsn": "x"},
        good[3],
        good[0],  # same natural key again in the same upload
        [1, 2],
        signal(external_id="B-date", received_date="2026-02-30"),
        good[4],
    ]
    r = await upload(client, intake, ndjson(lines), "application/x-ndjson")
    assert r.status_code == 202, r.text
    batch = r.json()
    assert batch["status"] == "pending" and batch["total_lines"] == 12
    assert r.headers["location"] == f"/v1/signals/batches/{batch['id']}"
    await queue.drain()
    got = (await client.get(f"/v1/signals/batches/{batch['id']}", headers=intake)).json()
    assert got["status"] == "done"
    assert (got["accepted"], got["duplicate"], got["rejected"]) == (5, 1, 6)
    assert [e["line"] for e in got["errors"]] == [3, 4, 6, 7, 10, 11]
    assert got["errors"][1]["errors"][0]["loc"] == ["line", 4, "themes", 0]
    assert got["errors"][2]["errors"][0]["loc"] == ["line", 6, "summary"]
    assert "111222333" not in r.text + str(got)
    staff = await make_key(["signals:read"])
    items = (await client.get("/v1/signals", params={"batch_id": batch["id"]}, headers=staff)).json()["items"]
    assert sorted(s["external_id"] for s in items) == [f"B-{i}" for i in range(5)]


async def test_csv_batch(client: httpx.AsyncClient, themes: None, intake: dict, queue) -> None:
    csv = (
        "source_system,external_id,kind,themes,received_date,provider_agb,zorgkantoor_code,anonymous,summary\n"
        "zk-portal,C-1,signaal,bejegening;sociale-veiligheid,2026-01-05,12345678,5521,ja,\"Te laat, weer\"\n"
        "zk-portal,C-2,klacht,,2026-01-06,,5521,nee,\n"
        "zk-portal,C-3,onbekend,,2026-01-06,,5521,nee,\n"
        "zk-portal,C-4,klacht\n"
    )
    r = await upload(client, intake, csv.encode(), "text/csv; charset=utf-8")
    assert r.status_code == 202, r.text
    await queue.drain()
    got = (await client.get(f"/v1/signals/batches/{r.json()['id']}", headers=intake)).json()
    assert (got["accepted"], got["duplicate"], got["rejected"]) == (2, 0, 2), got
    assert [e["line"] for e in got["errors"]] == [4, 5]


async def test_reprocessing_is_idempotent_and_resumable(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory, settings, session
) -> None:
    records = [signal(external_id=f"R-{i}") for i in range(25)]
    async with session_factory() as s:  # a batch as the API stores it, without running the job
        from shared.audit.service import Actor
        from shared.signals.batches import create_batch

        batch = await create_batch(s, body=ndjson(records), fmt="ndjson", actor=Actor("test"))
        await s.commit()
    # Simulate a crash after two chunks: process with small chunks, then rewind the status only.
    done = await process_batch(session_factory, settings, batch.id, chunk_size=10)
    assert done is not None and done.accepted == 25
    again = await process_batch(session_factory, settings, batch.id, chunk_size=10)
    assert again.accepted == 25 and again.duplicate == 0
    count = await session.scalar(
        select(func.count()).select_from(ClientSignal).where(ClientSignal.batch_id == batch.id)
    )
    assert count == 25
    # A batch interrupted mid-way (status processing, cursor at 10, the body still there) resumes from 10.
    async with session_factory() as s:
        batch2 = await create_batch(
            s, body=ndjson([*records, signal(external_id="R-new")]), fmt="ndjson", actor=Actor("test")
        )
        await s.commit()
    async with session_factory() as s:
        row = await s.get(SignalBatch, batch2.id)
        row.processed_lines = 10
        row.status = "processing"
        await s.commit()
    resumed = await process_batch(session_factory, settings, batch2.id, chunk_size=10)
    assert (resumed.accepted, resumed.duplicate, resumed.processed_lines) == (1, 15, 26)
    assert resumed.body is None


async def test_batch_rejections(client: httpx.AsyncClient, intake: dict, make_key) -> None:
    assert (await upload(client, intake, b"a,b\n", "application/xml")).status_code == 415
    assert (await upload(client, intake, b"\n\n", "application/x-ndjson")).status_code == 400
    too_many = b"{}\n" * 100_001
    assert (await upload(client, intake, too_many, "application/x-ndjson")).status_code == 413
    reader = await make_key(["read"])
    assert (await upload(client, reader, b"{}\n", "application/x-ndjson")).status_code == 403
    assert (await client.get(f"/v1/signals/batches/{uuid.uuid4()}", headers=intake)).status_code == 404


async def test_stalled_batch_is_resumed_by_the_sweep(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory, queue
) -> None:
    import datetime as dt

    from sqlalchemy import update

    from shared.audit.service import Actor
    from shared.signals.batches import create_batch

    async with session_factory() as s:  # stored, but its job never reached a worker
        batch = await create_batch(
            s, body=ndjson([signal(external_id="S-1")]), fmt="ndjson", actor=Actor("t")
        )
        await s.commit()
    await queue.enqueue("signals.resume_batches")
    await queue.drain()
    assert (await client.get(f"/v1/signals/batches/{batch.id}", headers=intake)).json()["status"] == "pending"
    async with session_factory() as s:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        await s.execute(update(SignalBatch).where(SignalBatch.id == batch.id).values(updated_at=old))
        await s.commit()
    await queue.enqueue("signals.resume_batches")
    await queue.drain()
    got = (await client.get(f"/v1/signals/batches/{batch.id}", headers=intake)).json()
    assert got["status"] == "done" and got["accepted"] == 1


async def test_a_replayed_batch_upload_is_audited_like_the_first(
    client: httpx.AsyncClient, themes: None, intake: dict, admin: dict
) -> None:
    body = ndjson([signal(external_id="B-replay")])
    headers = {**intake, "Idempotency-Key": "batch-once"}
    first = await upload(client, headers, body, "application/x-ndjson")
    again = await upload(
        client, {**headers, "X-Request-ID": "req-batch-replay"}, body, "application/x-ndjson"
    )
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    batch_id = first.json()["id"]
    entries = (
        await client.get(
            "/v1/audit", params={"record_id": batch_id, "resource": "signal_batch"}, headers=admin
        )
    ).json()["items"]
    assert [(e["action"], e["record_ids"]) for e in entries] == [("signals.batch_create", [batch_id])] * 2
    assert entries[0]["request_id"] == "req-batch-replay" and entries[0]["detail"] == {
        "idempotent_replay": True
    }
