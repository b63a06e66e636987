from __future__ import annotations

import uuid

import httpx
import pytest

from services.api.ratelimit import RateLimiter
from tests.api.test_signals import intake, post_signal, signal, themes  # noqa: F401


async def test_429_with_retry_after(client: httpx.AsyncClient, app, make_key) -> None:
    limiter: RateLimiter = app.state.rate_limiter
    limiter.prefix = f"test-rl-{uuid.uuid4().hex}"
    limiter.per_minute = 3
    staff = await make_key(["signals:read"])
    codes = [(await client.get("/v1/signals", headers=staff)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = await client.get("/v1/signals", headers=staff)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert r.json()["type"].endswith("/rate-limited")
    other = await make_key(["signals:read"])  # per key
    assert (await client.get("/v1/signals", headers=other)).status_code == 200


async def test_fails_open_when_redis_is_down(client: httpx.AsyncClient, app, themes: None, intake: dict,
                                            caplog: pytest.LogCaptureFixture) -> None:
    app.state.rate_limiter = RateLimiter.from_url("redis://127.0.0.1:1/0", per_minute=1)
    try:
        for _ in range(3):
            assert (await post_signal(client, intake, signal())).status_code == 201
    finally:
        await app.state.rate_limiter.close()
    assert app.state.rate_limiter._down_until > 0
