"""TK SyncFeed jobs: one category per job id, and the scheduled run over every category."""

from __future__ import annotations

from typing import Any

import structlog

from services.worker.define import SCHEDULES, Schedule, job
from shared.tk.client import FeedClient
from shared.tk.events import SYNC_ALL_JOB, SYNC_CATEGORY_JOB, category_job_id
from shared.tk.service import SyncRunner

log = structlog.get_logger("nakoming.tk.jobs")


def _runner(ctx: dict[str, Any], trigger: str) -> SyncRunner:
    settings = ctx["settings"]
    return SyncRunner(
        ctx["session_factory"],
        FeedClient.from_settings(ctx["http"], settings),
        settings,
        queue=ctx.get("queue"),
        trigger=trigger,
    )


@job(SYNC_CATEGORY_JOB)
async def sync_category(
    ctx: dict[str, Any], category: str, trigger: str = "api", then: list[str] | None = None
) -> dict[str, Any]:
    """Sync one category from its checkpoint to the end of the feed (idempotent; may run more than once),
    then enqueue the next category of the chain, if any."""
    try:
        summary = await _runner(ctx, trigger).run_category(category)
    finally:
        if then and ctx.get("queue") is not None:
            following, *rest = then
            await ctx["queue"].enqueue(
                SYNC_CATEGORY_JOB,
                job_id=category_job_id(following),
                category=following,
                then=rest,
                trigger=trigger,
            )
    return summary.as_dict()


@job(SYNC_ALL_JOB)
async def sync_all(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The scheduled sync of every category, in dependency order; skipped with a clear log line when offline."""
    runner = _runner(ctx, "schedule")
    client = runner.source
    assert isinstance(client, FeedClient)
    if not await client.reachable():
        log.warning(
            "tk_feed_unreachable",
            url=client.base_url,
            detail="TK SyncFeed not reachable; keeping the local mirror, will try again at the next schedule",
        )
        return []
    return [summary.as_dict() for summary in await runner.run()]


SCHEDULES.append(Schedule(SYNC_ALL_JOB, setting="tk_sync_interval"))
