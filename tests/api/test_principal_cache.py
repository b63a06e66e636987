from __future__ import annotations

import time
import uuid

from services.api.deps import PrincipalCache
from shared.auth.service import Principal


def test_cache_expires_and_is_bounded(monkeypatch) -> None:
    cache = PrincipalCache(ttl=10, size=2)
    p = Principal(key_id=uuid.uuid4(), name="a", scopes=frozenset({"read"}))
    cache.put("nk_a_1", p)
    assert cache.get("nk_a_1") is p
    assert cache.get("nk_a_2") is None
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 11)
    assert cache.get("nk_a_1") is None  # a revoked key stops working after the ttl
    cache.put("k1", p)
    cache.put("k2", p)
    cache.put("k3", p)
    assert cache.get("k1") is None and cache.get("k3") is p


def test_a_watched_cache_trusts_nothing_once_its_watcher_falls_silent(monkeypatch) -> None:
    """services/api/revocation.py raises trusted_until on every successful check; when checks stop succeeding,
    remembered credentials are checked against the database again instead of living out their ttl."""
    cache = PrincipalCache(ttl=60)
    p = Principal(key_id=uuid.uuid4(), name="a", scopes=frozenset({"read"}))
    cache.put("nk_a_1", p)
    now = time.monotonic()
    cache.trusted_until = now + 4
    assert cache.get("nk_a_1") is p
    monkeypatch.setattr(time, "monotonic", lambda: now + 5)
    assert cache.get("nk_a_1") is None


async def test_revoked_key_is_refused_once_the_cache_is_off(client, session_factory, make_key) -> None:
    from sqlalchemy import select

    from shared.auth.models import ApiKey
    from shared.auth.service import revoke

    headers = await make_key(["write"])
    assert (await client.post("/v1/commitments", json={"title": "x"}, headers=headers)).status_code == 201
    client._transport.app.state.principal_cache = None  # type: ignore[attr-defined]
    async with session_factory() as s:
        key = (await s.execute(select(ApiKey).order_by(ApiKey.created_at.desc()))).scalars().first()
        assert await revoke(s, key.id)
        await s.commit()
    assert (await client.post("/v1/commitments", json={"title": "y"}, headers=headers)).status_code == 401
