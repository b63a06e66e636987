"""The embedded default's TK mirror: the bundled snapshot first (offline), live only when reachable."""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.settings import Settings
from shared.tk.client import FeedClient
from shared.tk.service import SyncRunner
from shared.tk.snapshot import SNAPSHOT_DIR, DirectorySource

log = structlog.get_logger("nakoming.tk")


async def load_snapshot(session_factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, int]:
    """Apply the bundled feed pages through the normal sync path; idempotent (a second load changes nothing).

    Each category's checkpoint ends at the snapshot's last entry, so a live sync continues from there
    instead of reading the whole history.
    """
    offline = settings.model_copy(update={"tk_request_interval": 0.0, "tk_start_tokens": {}})
    runner = SyncRunner(session_factory, DirectorySource(SNAPSHOT_DIR), offline, trigger="snapshot")
    summaries = await runner.run()
    counts = {s.category: s.upserts + s.deletes for s in summaries}
    log.info("tk_snapshot_loaded", **counts)
    return counts


async def prepare_tk(session_factory: async_sessionmaker[AsyncSession], settings: Settings,
                     http: httpx.AsyncClient | None = None) -> dict[str, Any]:
    """Load the snapshot, then say whether the live feed is reachable (the scheduled `tk.sync_all` syncs it)."""
    loaded = await load_snapshot(session_factory, settings)
    owns = http is None
    http = http or httpx.AsyncClient(timeout=settings.tk_request_timeout)
    try:
        reachable = await FeedClient.from_settings(http, settings).reachable()
    finally:
        if owns:
            await http.aclose()
    if reachable:
        log.info("tk_feed_reachable", url=settings.tk_syncfeed_url, detail="live TK sync runs on the schedule")
    else:
        log.warning("tk_feed_unreachable", url=settings.tk_syncfeed_url,
                    detail="TK SyncFeed not reachable: serving the bundled snapshot; live sync resumes when it is")
    return {"snapshot": loaded, "feed_reachable": reachable}
