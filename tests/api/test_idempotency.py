from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import pytest

from shared.idempotency import service as store
from tests.factories import post_signal, signal


async def test_key_required(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    r = await client.post("/v1/signals", json=signal(), headers=intake)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["detail"]


async def test_replay_same_body(client: httpx.AsyncClient, themes: None, intake: dict, make_key) -> None:
    body = signal()
    first = await post_signal(client, intake, body, key="k-1")
    second = await post_signal(client, intake, body, key="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    staff = await make_key(["signals:read"])
    assert len((await client.get("/v1/signals", headers=staff)).json()["items"]) == 1
    # Keys are per API key: another caller's identical key is a different request.
    other = await make_key(["signals:write"])
    r = await post_signal(client, other, signal(), key="k-1")
    assert r.status_code == 201


async def test_reuse_with_other_body_is_422(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    assert (await post_signal(client, intake, signal(), key="k-2")).status_code == 201
    r = await post_signal(client, intake, signal(), key="k-2")
    assert r.status_code == 422 and r.json()["type"].endswith("/idempotency-key-reused")


async def test_in_flight_is_409_then_replay(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory
) -> None:
    body = signal()
    # The first request with this key has claimed it and is still running.
    first = await post_signal(client, intake, body, key="k-3")
    async with session_factory() as s:
        from sqlalchemy import update

        from shared.idempotency.models import IdempotencyRecord

        await s.execute(
            update(IdempotencyRecord).where(IdempotencyRecord.key == "k-3").values(state="processing")
        )
        await s.commit()
    r = await post_signal(client, intake, body, key="k-3")
    assert r.status_code == 409 and r.json()["type"].endswith("/idempotency-key-in-use")
    async with session_factory() as s:
        await s.execute(
            update(IdempotencyRecord).where(IdempotencyRecord.key == "k-3").values(state="completed")
        )
        await s.commit()
    r = await post_signal(client, intake, body, key="k-3")
    assert r.status_code == 201 and r.json()["id"] == first.json()["id"]


async def test_failed_request_releases_key(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    bad = signal(themes=["bestaat-niet"])
    assert (await post_signal(client, intake, bad, key="k-4")).status_code == 422
    assert (await post_signal(client, intake, bad, key="k-4")).status_code == 422  # not 409: released
    assert (await post_signal(client, intake, signal(), key="k-4")).status_code == 201


async def test_claim_race_in_store(session_factory) -> None:
    ttl = dt.timedelta(hours=1)
    fp = store.fingerprint("POST", "/x", b"{}")
    async with session_factory() as s:
        first = await store.claim(s, owner="o", key="race", method="POST", path="/x", fp=fp, ttl=ttl)
        await s.commit()
    assert first.record_id is not None
    async with session_factory() as s:
        with pytest.raises(store.KeyInUse):
            await store.claim(s, owner="o", key="race", method="POST", path="/x", fp=fp, ttl=ttl)
        with pytest.raises(store.KeyReused):
            await store.claim(s, owner="o", key="race", method="POST", path="/x", fp="other", ttl=ttl)


@pytest.mark.postgres_only
async def test_two_concurrent_requests_with_one_key(engine, settings, queue) -> None:
    """Real concurrency on PostgreSQL: separate connections and commits (cleaned up afterwards)."""
    from asgi_lifespan import LifespanManager
    from sqlalchemy import delete, text

    from services.api.app import create_app
    from shared.auth.service import create_api_key
    from shared.db import create_session_factory
    from shared.signals.models import ClientSignal
    from shared.themes.models import Theme

    factory = create_session_factory(engine)
    tag = uuid.uuid4().hex[:8]
    async with factory() as s:
        s.add(Theme(key=f"race-{tag}", label_nl="r", label_en="r"))
        key, raw = await create_api_key(s, name="race", scopes=["signals:write"])
        await s.commit()
    app = create_app(settings, engine=engine, session_factory=factory, queue=queue)
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": f"race-{tag}"}
    body = signal(themes=[f"race-{tag}"], source_system=f"race-{tag}")
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                results = await asyncio.gather(
                    *(c.post("/v1/signals", json=body, headers=headers) for _ in range(6))
                )
                codes = sorted(r.status_code for r in results)
                assert codes.count(201) >= 1 and set(codes) <= {201, 409}, codes
                created = {r.json()["id"] for r in results if r.status_code == 201}
                assert len(created) == 1  # replays, never a second signal
                final = await c.post("/v1/signals", json=body, headers=headers)
                assert final.status_code == 201 and final.json()["id"] in created
    finally:
        async with factory() as s:
            await s.execute(delete(ClientSignal).where(ClientSignal.source_system == f"race-{tag}"))
            await s.execute(text("DELETE FROM idempotency_keys WHERE key = :k"), {"k": f"race-{tag}"})
            await s.execute(text("DELETE FROM api_keys WHERE id = :i"), {"i": key.id})
            await s.execute(delete(Theme).where(Theme.key == f"race-{tag}"))
            await s.commit()
