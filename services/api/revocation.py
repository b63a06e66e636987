"""The revocation watcher: each API process reads the revocation epoch (shared/auth/revocation.py) every
NAKOMING_AUTH_REVOCATION_POLL_SECONDS and forgets every remembered credential when it moved.

A database read rather than Redis pub/sub: the epoch is raised in the revoking transaction itself, so no
revocation can be committed without being seen, it works the same for the CLI, for another API process and for
the embedded default without Redis, and a message missed while disconnected cannot be lost. One tiny indexed read
per second per process is the price. When the read fails, the cache's trust lapses (PrincipalCache.trusted_until):
every credential is then checked against the database again, so a broken watcher never extends a revoked key's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.deps import PrincipalCache
from shared.auth.revocation import read_epoch

log = structlog.get_logger("nakoming.auth")
TRUSTED_POLLS = 4  # remembered credentials stay trusted this many intervals after the last good read


class RevocationWatcher:
    def __init__(self, engine: AsyncEngine, cache: PrincipalCache, interval: float) -> None:
        self.engine = engine
        self.cache = cache
        self.cache.trusted_until = 0.0  # nothing remembered is trusted before the first successful check
        self.interval = interval
        self.epoch: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> None:
        """Read the epoch once: clear the cache when it moved, and extend the cache's trust."""
        async with self.engine.connect() as conn:
            epoch = await read_epoch(conn)
            await conn.rollback()
        if epoch != self.epoch:
            if self.epoch is not None:
                log.info("credentials_revoked", epoch=epoch)
            self.cache.clear()
            self.epoch = epoch
        self.cache.trusted_until = time.monotonic() + TRUSTED_POLLS * self.interval

    async def start(self) -> None:
        with contextlib.suppress(Exception):  # the database may be down at start-up: the loop keeps trying
            await self.check()
        self._task = asyncio.create_task(self._run(), name="revocation-watcher")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception as exc:  # noqa: BLE001  (a database outage: trust lapses, see the module docstring)
                log.warning("revocation_check_failed", error=type(exc).__name__)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
