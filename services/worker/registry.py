"""Every job and schedule the worker knows, by name (`domain.verb`).

The arq worker (services/worker/settings.py) and the in-process runner of the embedded default
(services/api/embedded.py) both read this registry, so they run the same code.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from services.worker.outage import run_through_database_outages
from shared.metrics import JOB_DURATION, JOB_RUNS
from shared.tracing import TRACE_KEY, job_span, mark_failed

JobFunc = Callable[..., Coroutine[Any, Any, Any]]  # what arq calls a WorkerCoroutine

FUNCTIONS: dict[str, JobFunc] = {}
# Per-job arq options (e.g. a longer timeout).
OPTIONS: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class Schedule:
    name: str  # the job to run
    every_seconds: int | None = None  # interval schedules (in-process runner and arq minute sets)
    hour: int | None = None  # daily schedules, UTC
    minute: int = 0
    setting: str | None = None  # settings field that overrides every_seconds


SCHEDULES: list[Schedule] = []


def job(name: str, **options: Any) -> Callable[[JobFunc], JobFunc]:
    """Register a job. It runs through database outages (waits, then runs again; jobs are idempotent), in a span
    continuing the trace of whoever enqueued it, and is counted and timed (shared/metrics.py) under its name."""

    def register(func: JobFunc) -> JobFunc:
        known = FUNCTIONS.get(name)
        if known is not None and getattr(known, "__wrapped__", None) is not func:
            raise RuntimeError(f"job {name} registered twice")

        @functools.wraps(func)
        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            carrier = kwargs.pop(TRACE_KEY, None)
            started, outcome = time.perf_counter(), "failed"
            with structlog.contextvars.bound_contextvars(job=name, job_id=ctx.get("job_id")), \
                    job_span(ctx.get("tracer_provider"), name, ctx.get("job_id"), carrier) as span:
                try:
                    result = await run_through_database_outages(ctx, name, lambda: func(ctx, *args, **kwargs))
                    outcome = "ok"
                    return result
                except asyncio.CancelledError as exc:  # SIGTERM after the grace period: back to the queue
                    outcome = "cancelled"
                    mark_failed(span, exc)
                    raise
                finally:
                    JOB_RUNS.labels(name, outcome).inc()
                    JOB_DURATION.labels(name).observe(time.perf_counter() - started)

        FUNCTIONS[name] = run
        if options:
            OPTIONS[name] = options
        return func

    return register


def load_all() -> dict[str, JobFunc]:
    """Import every task module (they register themselves) and return the registry."""
    import services.worker.tasks  # noqa: F401

    return FUNCTIONS
