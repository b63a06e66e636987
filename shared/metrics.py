"""Prometheus metrics: the one definition of every metric the API and the worker export.

Counters and histograms are process-wide objects (prometheus-client keeps them in a registry of its own, as it is
meant to be used); nothing here opens a connection. When several processes serve one address (`nakoming serve
--workers N`), set PROMETHEUS_MULTIPROC_DIR to an empty, writable directory shared by them, before they start:
each process then writes its values to files there and a scrape adds them up (`registry()`).

Figures read from the database (commitments per status, TK sync lag) are not kept here: they are computed when
scraped (services/api/metrics.py), so every process would report the same database anyway.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger("nakoming.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text exposition format

# Request latencies in seconds: from a cached read (~1 ms) to a large batch upload.
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Histogram(
    "nakoming_http_request_duration_seconds",
    "HTTP requests by method, route template (not the raw path) and status class; _count is the request count.",
    ["method", "route", "status"],
    buckets=_HTTP_BUCKETS,
)

DB_POOL_IN_USE = Gauge(
    "nakoming_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "nakoming_db_pool_size",
    "The pool's size (connections kept open; as many again may overflow).",
    multiprocess_mode="livesum",
)

JOB_RUNS = Counter(
    "nakoming_job_runs", "Job runs by job name and outcome (ok, failed, cancelled).", ["job", "outcome"]
)
JOB_DURATION = Histogram(
    "nakoming_job_duration_seconds",
    "Job run time by job name (every outcome).",
    ["job"],
    buckets=_JOB_BUCKETS,
)


def track_pool(engine: AsyncEngine) -> Callable[[], None]:
    """Count the engine's checked-out connections in the pool gauges; returns what undoes it."""
    pool = engine.sync_engine.pool
    size = pool.size() if hasattr(pool, "size") else 0

    def checkout(*_: Any) -> None:
        DB_POOL_IN_USE.inc()

    def checkin(*_: Any) -> None:
        DB_POOL_IN_USE.dec()

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    DB_POOL_SIZE.inc(size)

    def untrack() -> None:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)
        DB_POOL_SIZE.dec(size)

    return untrack


def is_multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry(*collectors: Any) -> CollectorRegistry:
    """What one scrape reports: this process's metrics (or every process's, added up, in multiprocess mode)
    and the given scrape-time collectors."""
    if is_multiprocess():
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape = CollectorRegistry()
        scrape.register(_ProcessMetrics())
    for collector in collectors:
        scrape.register(collector)
    return scrape


def render(scrape: CollectorRegistry) -> bytes:
    return generate_latest(scrape)


def serve_port(port: int, scrape: CollectorRegistry) -> Any:
    """prometheus-client's HTTP server on `port` (a thread of this process), or None when the port is taken:
    with `--workers N` the first process binds it, and in multiprocess mode its scrape covers every process."""
    try:
        server, _thread = start_http_server(port, addr="0.0.0.0", registry=scrape)
    except OSError as exc:
        log.warning(
            "metrics_port_taken",
            port=port,
            detail=f"{exc}: fine when another process of this group "
            "(`nakoming serve --workers N` with PROMETHEUS_MULTIPROC_DIR) serves it, else choose another port",
        )
        return None
    log.info("metrics_port", port=port)
    return server


def process_ended() -> None:
    """A process leaving a multiprocess group removes its live gauges (pool use), so the sum stays true."""
    if is_multiprocess():
        multiprocess.mark_process_dead(os.getpid())


class ScrapeTimeCollector:
    """Figures computed when scraped (a grouped query, a Redis call), reused for `max_age` seconds.

    `compute` is a coroutine on the process's event loop. A scrape served on the loop (the API's /metrics route)
    awaits `refresh()` before rendering; a scrape served by prometheus-client's HTTP thread (the metrics port)
    hands `refresh()` to the loop and waits for it. A failed computation is reported as the last good figures
    (stale, not absent) and logged by the caller's loop."""

    def __init__(
        self, compute: Callable[[], Awaitable[Sequence[Any]]], max_age: float, timeout: float = 5.0
    ) -> None:
        self.compute = compute
        self.max_age = max_age
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None
        self._families: Sequence[Any] = ()
        self._at = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def refresh(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:  # concurrent scrapes share one computation
            if time.monotonic() - self._at >= self.max_age:
                self._families = await self.compute()
                self._at = time.monotonic()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def collect(self) -> Any:
        loop = self.loop
        if loop is not None and loop.is_running() and not _on_a_loop():
            try:
                asyncio.run_coroutine_threadsafe(self.refresh(), loop).result(self.timeout)
            except Exception as exc:  # noqa: BLE001 - keep serving the other metrics (and the stale figures)
                log.warning("metrics_not_refreshed", error=type(exc).__name__, detail=str(exc)[:200])
        return iter(self._families)


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _ProcessMetrics:
    """The default registry (our metrics, plus the process and Python ones) as one collector of a scrape."""

    def collect(self) -> Any:
        return PROCESS_REGISTRY.collect()
