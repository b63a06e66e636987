from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import func, select

from shared.idempotency.models import IdempotencyRecord
from shared.signals.models import ClientSignal, client_signal_themes
from tests.factories import post_signal, signal


async def test_purge_deletes_expired_signals_and_their_idempotency_records(
    client: httpx.AsyncClient, themes: None, intake: dict, admin: dict, queue, session
) -> None:
    old = (
        await post_signal(
            client, intake, signal(received_date="2020-01-01", retention_date="2021-01-01"), key="old"
        )
    ).json()
    keep = (await post_signal(client, intake, signal(), key="keep")).json()
    await queue.enqueue("signals.purge_expired")
    await queue.drain()
    ids = set((await session.execute(select(ClientSignal.id))).scalars())
    assert {str(i) for i in ids} == {keep["id"]}
    assert (
        await session.scalar(
            select(func.count())
            .select_from(client_signal_themes)
            .where(client_signal_themes.c.signal_id == uuid.UUID(old["id"]))
        )
        == 0
    )
    keys = set((await session.execute(select(IdempotencyRecord.key))).scalars())
    assert "old" not in keys and "keep" in keys
    entries = (await client.get("/v1/audit", params={"action": "signals.purge"}, headers=admin)).json()[
        "items"
    ]
    assert entries[0]["record_count"] == 1 and entries[0]["record_ids"] == []
    # A repeat finds nothing (the job may run more than once).
    await queue.enqueue("signals.purge_expired")
    await queue.drain()
    entries = (await client.get("/v1/audit", params={"action": "signals.purge"}, headers=admin)).json()[
        "items"
    ]
    assert [e["record_count"] for e in entries] == [0, 1]
    # The replay of a purged signal is gone too: the same key now creates anew.
    r = await post_signal(
        client, intake, signal(received_date="2020-01-01", retention_date="2021-01-01"), key="old"
    )
    assert r.status_code == 201


def test_purge_is_scheduled_nightly() -> None:
    from services.worker.registry import SCHEDULES, load_all

    load_all()
    assert any(s.name == "signals.purge_expired" and s.hour is not None for s in SCHEDULES)
    assert dt.date.today()
