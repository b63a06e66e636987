"""Waiting out an outage of Redis or the database: logged once when it starts and once when it ends
(not a traceback per attempt), retried with a short backoff capped at the worker's poll interval, so work
resumes within one poll interval of the service coming back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from shared.db import database_reachable, database_unavailable
from shared.settings import get_settings

log = structlog.get_logger("nakoming.worker")

# A job that keeps failing with a "connection" error while the database answers has a real problem:
# fail it after this many runs rather than retrying for ever.
MAX_RUNS_WHILE_REACHABLE = 3


class Outage:
    def __init__(self, what: str, cap: float) -> None:
        self.what = what
        self.cap = cap
        self.since: float | None = None
        self.attempts = 0

    def failed(self, exc: BaseException, **context: Any) -> float:
        """Record a failed attempt; returns how long to wait before the next one."""
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                f"{self.what}_unavailable",
                error=f"{type(exc).__name__}: {exc}"[:300],
                **context,
                detail=f"waiting for {self.what}; retrying every {self.cap:g} s at most",
            )
        self.attempts += 1
        return min(self.cap, 0.05 * 2**self.attempts)

    def recovered(self, **context: Any) -> None:
        if self.since is not None:
            log.info(
                f"{self.what}_available", after_seconds=round(time.monotonic() - self.since, 1), **context
            )
            self.since, self.attempts = None, 0


async def run_through_database_outages(ctx: dict[str, Any], name: str, run: Any) -> Any:
    """Run a job; when it fails because the database is away, wait until it answers and run it again
    (jobs are idempotent). Other errors, and a database that answers yet keeps failing the job, propagate."""
    outage = Outage("database", get_settings().worker_poll_seconds)
    reachable_failures = 0
    while True:
        try:
            result = await run()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            while not await database_reachable(ctx["engine"]):
                await asyncio.sleep(outage.failed(exc, job=name))
            if outage.since is None:
                reachable_failures += 1
                if reachable_failures >= MAX_RUNS_WHILE_REACHABLE:
                    raise
            outage.recovered(job=name)
            continue
        outage.recovered(job=name)
        return result
