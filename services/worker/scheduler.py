"""In-process scheduler for the embedded default: enqueues the registry's schedules on the local queue."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import structlog

from services.worker.registry import SCHEDULES, Schedule
from shared.jobs import job_id
from shared.settings import Settings

log = structlog.get_logger("nakoming.scheduler")


def next_run(schedule: Schedule, settings: Settings, now: dt.datetime) -> dt.datetime:
    if schedule.hour is not None:
        candidate = now.replace(hour=schedule.hour, minute=schedule.minute, second=0, microsecond=0)
        return candidate if candidate > now else candidate + dt.timedelta(days=1)
    seconds = getattr(settings, schedule.setting) if schedule.setting else schedule.every_seconds or 3600
    return now + dt.timedelta(seconds=seconds)


class InProcessScheduler:
    def __init__(self, queue: Any, settings: Settings, *, run_at_startup: bool = True) -> None:
        self.queue = queue
        self.settings = settings
        self.run_at_startup = run_at_startup
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for schedule in SCHEDULES:
            self.tasks.append(asyncio.create_task(self._loop(schedule), name=f"schedule:{schedule.name}"))

    async def _loop(self, schedule: Schedule) -> None:
        if self.run_at_startup and (schedule.every_seconds is not None or schedule.setting):
            await self.queue.enqueue(schedule.name, job_id=job_id("cron", schedule.name))
        while True:
            now = dt.datetime.now(dt.UTC)
            await asyncio.sleep((next_run(schedule, self.settings, now) - now).total_seconds())
            log.info("schedule_due", job=schedule.name)
            await self.queue.enqueue(schedule.name, job_id=job_id("cron", schedule.name))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
