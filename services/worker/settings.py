"""arq WorkerSettings: the registry's jobs and schedules, resources made in on_startup, and the hooks that
give job ids their meaning (services/worker/queue.py) and keep jobs safe to kill (services/worker/worker.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from arq import cron
from arq.worker import func

from services.worker import worker
from services.worker.context import build_context, close_context
from services.worker.metrics import queue_depth
from services.worker.queue import ArqQueue, redis_settings
from services.worker.registry import OPTIONS, SCHEDULES, Schedule, load_all
from services.worker.serialization import job_deserializer, job_serializer
from shared.logging import configure_logging
from shared.metrics import registry as metrics_registry
from shared.metrics import serve_port, track_pool
from shared.settings import get_settings
from shared.tracing import build_provider, instrument_engine, uninstrument_engines


async def on_startup(ctx: dict[str, Any]) -> None:
    """Resources of this worker process. A tracer provider already in `ctx` (tests) is used as it is; else one
    is built when tracing is configured (shared/tracing.py)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    built = None if ctx.get("tracer_provider") else build_provider(settings, "nakoming-worker")
    provider = ctx.get("tracer_provider") or built
    ctx.update(await build_context(settings, tracer_provider=provider))
    ctx["queue"] = ArqQueue(ctx["redis"])
    closing: list[Any] = [track_pool(ctx["engine"])]
    if provider is not None:
        instrument_engine(ctx["engine"], provider)
        closing.append(uninstrument_engines)
    if built is not None:
        closing.append(built.shutdown)  # flushes the spans still batched
    if settings.metrics_port:
        depth = queue_depth(ctx["redis"], sorted(load_all()))
        depth.bind(asyncio.get_running_loop())
        server = serve_port(settings.metrics_port, metrics_registry(depth))
        if server is not None:
            closing.append(server.shutdown)
    ctx["_closing"] = closing


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await close_context(ctx)
    for close in reversed(ctx.pop("_closing", [])):
        close()


def _cron_jobs() -> list[Any]:
    functions = load_all()
    settings = get_settings()
    jobs = []
    for schedule in SCHEDULES:
        coroutine = functions[schedule.name]
        jobs.append(
            cron(
                coroutine,
                name=f"cron:{schedule.name}",
                unique=True,
                run_at_startup=False,
                **_when(schedule, settings),
            )
        )
    return jobs


def _when(schedule: Schedule, settings: Any) -> dict[str, Any]:
    if schedule.hour is not None:
        return {"hour": schedule.hour, "minute": schedule.minute}
    seconds = getattr(settings, schedule.setting) if schedule.setting else schedule.every_seconds
    minutes = max(1, int(seconds or 60) // 60)
    if minutes >= 60:
        return {"hour": set(range(0, 24, max(1, minutes // 60))), "minute": schedule.minute}
    return {"minute": set(range(0, 60, minutes))}


class WorkerSettings:
    functions = [func(f, name=name, **OPTIONS.get(name, {})) for name, f in load_all().items()]
    cron_jobs = _cron_jobs()
    on_startup = on_startup
    on_shutdown = on_shutdown
    on_job_start = worker.on_job_start
    on_job_end = worker.on_job_end
    after_job_end = worker.after_job_end
    redis_settings = redis_settings(get_settings().redis_url)
    job_serializer = job_serializer
    job_deserializer = job_deserializer
    poll_delay = get_settings().worker_poll_seconds
    max_jobs = get_settings().worker_max_jobs
    job_timeout = 3600
    # No results kept: arq refuses a job id while its result exists, which would block the next run of a
    # keyed job for as long (also for failed jobs, whose result arq keeps for the worker-wide keep_result).
    keep_result = 0
    retry_jobs = True
    # A killed or cancelled run counts as a try; every job is idempotent, so it is simply run again.
    max_tries = 5
    health_check_interval = 30
    # SIGTERM: take no new jobs, let running ones finish for up to NAKOMING_WORKER_GRACE_SECONDS, then cancel what
    # still runs; arq puts a cancelled job back on the queue (retry_jobs) and a worker runs it again from its
    # checkpoint (jobs are idempotent). Without it arq cancels running jobs at the signal.
    job_completion_wait = get_settings().worker_grace_seconds
