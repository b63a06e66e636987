"""Per-key rate limiting on Redis (fixed one-minute windows): 429 with Retry-After.

Redis being down must never take the API down: the limiter then fails open, logs a warning (at most
every BACKOFF seconds) and leaves Redis alone for BACKOFF seconds instead of paying a timeout per request.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import structlog
from fastapi import Depends, Request
from redis.asyncio import Redis

from services.api.deps import get_principal
from services.api.openapi import RATE_LIMITED_ATTR
from shared.auth.service import Principal
from shared.errors import TooManyRequests

log = structlog.get_logger("nakoming.ratelimit")
BACKOFF = 5.0
WINDOW = 60


class RateLimiter:
    def __init__(self, redis: Any, per_minute: int, *, prefix: str = "nakoming:rl") -> None:
        self.redis = redis
        self.per_minute = per_minute
        self.prefix = prefix
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str, per_minute: int, *, prefix: str = "nakoming:rl") -> RateLimiter:
        return cls(
            Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25), per_minute, prefix=prefix
        )

    async def hit(self, identity: str) -> int | None:
        """Count one request; return seconds to wait when over the limit, else None."""
        return await self._count(identity, 1)

    async def blocked(self, identity: str) -> int | None:
        """Seconds to wait when `identity` is already over the limit (nothing counted), else None."""
        return await self._count(identity, 0)

    async def _count(self, identity: str, by: int) -> int | None:
        if time.monotonic() < self._down_until:
            return None
        now = time.time()
        window = int(now // WINDOW)
        key = f"{self.prefix}:{identity}:{window}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incrby(key, by)
                pipe.expire(key, WINDOW + 1)
                count, _ = await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - any Redis trouble: fail open
            self._down_until = time.monotonic() + BACKOFF
            log.warning(
                "rate_limiter_unavailable",
                error=type(exc).__name__,
                detail="Redis unreachable; requests are not rate limited for now",
            )
            return None
        if int(count) > self.per_minute:
            return max(1, int((window + 1) * WINDOW - now + 0.999))
        return None

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a pool to a Redis that is gone may fail; nothing to do
            await self.redis.aclose()


def identity_of(request: Request, principal: Principal) -> str:
    if not principal.is_anonymous:
        return f"key:{principal.identity}"
    client = request.client.host if request.client else "unknown"
    return f"ip:{client}"


async def rate_limit(request: Request) -> None:
    if getattr(request.app.state, "rate_limiter", None) is None:
        return
    # get_principal called, not declared: a declared sub-dependency costs a resolution step per request.
    await count_request(request, await get_principal(request))


async def count_request(request: Request, principal: Principal) -> None:
    """One request of `principal` against its limit (429 over it); also the status board's signal page."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    wait = await limiter.hit(identity_of(request, principal))
    if wait is not None:
        raise TooManyRequests(
            f"More than {limiter.per_minute} requests per minute for this key; retry in {wait} s.",
            retry_after=wait,
        )


setattr(rate_limit, RATE_LIMITED_ATTR, True)  # 429 documented in OpenAPI (services/api/openapi.py)
RateLimited = Depends(rate_limit)
