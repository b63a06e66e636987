"""arq WorkerSettings: the registry's jobs and schedules, resources made in on_startup, and the hooks that
give job ids their meaning (services/worker/queue.py) and keep jobs safe to kill (services/worker/worker.py)."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.worker import func

from services.worker import worker
from services.worker.context import build_context, close_context
from services.worker.queue import ArqQueue, redis_settings
from services.worker.registry import OPTIONS, SCHEDULES, Schedule, load_all
from services.worker.serialization import job_deserializer, job_serializer
from shared.logging import configure_logging
from shared.settings import get_settings


async def on_startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    ctx.update(await build_context(settings))
    ctx["queue"] = ArqQueue(ctx["redis"])


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await close_context(ctx)


def _cron_jobs() -> list[Any]:
    functions = load_all()
    settings = get_settings()
    jobs = []
    for schedule in SCHEDULES:
        coroutine = functions[schedule.name]
        jobs.append(cron(coroutine, name=f"cron:{schedule.name}", unique=True, run_at_startup=False,
                         **_when(schedule, settings)))
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
