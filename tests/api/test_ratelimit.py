from __future__ import annotations

import uuid

import httpx
import pytest

from services.api.ratelimit import RateLimiter
from tests.factories import post_signal, signal


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


async def test_fails_open_when_redis_is_down(
    client: httpx.AsyncClient, app, themes: None, intake: dict, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.rate_limiter = RateLimiter.from_url("redis://127.0.0.1:1/0", per_minute=1)
    try:
        for _ in range(3):
            assert (await post_signal(client, intake, signal())).status_code == 201
    finally:
        await app.state.rate_limiter.close()
    assert app.state.rate_limiter._down_until > 0


async def test_failed_authentications_are_limited_per_address(
    client: httpx.AsyncClient, app, make_key, log_lines
) -> None:
    limiter: RateLimiter = app.state.auth_failure_limiter
    limiter.prefix = f"test-authfail-{uuid.uuid4().hex}"
    limiter.per_minute = 3
    staff = await make_key(["signals:read"])
    assert (await client.get("/v1/signals", headers=staff)).status_code == 200  # remembered by this process
    secret = f"nk_guess_{uuid.uuid4().hex}"
    codes = [
        (await client.get("/v1/signals", headers={"Authorization": f"Bearer {secret}{i}"})).status_code
        for i in range(3)
    ]
    codes.append((await client.get("/v1/signals", headers={"Authorization": "Basic x"})).status_code)
    assert codes == [401, 401, 401, 429]
    r = await client.get("/v1/signals", headers=await make_key(["signals:read"]))  # right or wrong: refused
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["content-type"] == "application/problem+json" and r.json()["type"].endswith(
        "/rate-limited"
    )
    assert (
        await client.get("/v1/signals", headers=staff)
    ).status_code == 200  # a key already known still works
    assert (await client.get("/v1/signals/stats")).status_code == 200  # no credentials, no authentication
    lines = log_lines.getvalue()
    assert lines.count("authentication_failed") == 4 and "127.0.0.1" in lines and secret not in lines


async def test_signal_responses_are_not_stored(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    created = await post_signal(client, intake, signal())
    assert created.headers["cache-control"] == "no-store"
    for r in (
        await client.get("/v1/signals/stats"),
        await client.get(f"/v1/signals/{uuid.uuid4()}", headers=intake),
        await client.post("/v1/signals", json={}),
    ):
        assert r.headers["cache-control"] == "no-store", r.url
    assert "cache-control" not in (await client.get("/v1/themes")).headers
