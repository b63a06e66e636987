"""How a task module declares a job or a schedule (`@job("domain.verb")`, `SCHEDULES.append`).

The task modules import this module and services/worker/registry.py imports the task modules, so the
registry is filled by importing it, without an import circle.
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
# Jobs one worker runs at most so many of at once (the rest stay queued for other workers): services/worker/worker.py
PER_WORKER: dict[str, int] = {}


@dataclass(frozen=True)
class Schedule:
    name: str  # the job to run
    every_seconds: int | None = None  # interval schedules (in-process runner and arq minute sets)
    hour: int | None = None  # daily schedules, UTC
    minute: int = 0
    setting: str | None = None  # settings field that overrides every_seconds


SCHEDULES: list[Schedule] = []


def job(name: str, *, per_worker: int | None = None, **options: Any) -> Callable[[JobFunc], JobFunc]:
    """Register a job. It runs through database outages (waits, then runs again; jobs are idempotent), in a span
    continuing the trace of whoever enqueued it, and is counted and timed (shared/metrics.py) under its name.
    `per_worker` caps how many of its runs one arq worker takes at once; its job ids must be keyed
    (`shared.jobs.job_id(name, key)`), since the worker recognises them by the name before the key."""

    def register(func: JobFunc) -> JobFunc:
        known = FUNCTIONS.get(name)
        if known is not None and getattr(known, "__wrapped__", None) is not func:
            raise RuntimeError(f"job {name} registered twice")

        @functools.wraps(func)
        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            carrier = kwargs.pop(TRACE_KEY, None)
            started, outcome = time.perf_counter(), "failed"
            with (
                structlog.contextvars.bound_contextvars(job=name, job_id=ctx.get("job_id")),
                job_span(ctx.get("tracer_provider"), name, ctx.get("job_id"), carrier) as span,
            ):
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
        if per_worker is not None:
            PER_WORKER[name] = per_worker
        return func

    return register
