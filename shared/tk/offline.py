"""The embedded default's TK mirror: the bundled sample snapshot first (offline), live only when reachable.

The snapshot is illustrative sample data, not the parliament's record: its entities carry origin `sample`
(in the database and the API), it never moves a category's checkpoint (its skiptokens are not the feed's), and
the first successful live sync of a category removes them and recalculates what cited them.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.settings import Settings
from shared.tk.categories import CATEGORIES
from shared.tk.client import FeedClient
from shared.tk.ingest import apply_page
from shared.tk.models import Origin
from shared.tk.parse import parse_page, position
from shared.tk.repository import SyncStateRepository
from shared.tk.snapshot import SNAPSHOT_DIR, DirectorySource

log = structlog.get_logger("nakoming.tk")


async def load_snapshot(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, int]:
    """Apply the bundled pages as `sample` entities to every category not yet synced live; returns the
    entities written per category. Idempotent: a second load changes no field, so it writes nothing."""
    source = DirectorySource(SNAPSHOT_DIR)
    counts: dict[str, int] = {}
    for category in CATEGORIES:
        async with session_scope(session_factory) as session:
            states = SyncStateRepository(session)
            if (await states.ensure(category)).last_success_at is not None:
                counts[category] = 0  # the live feed has been read: the sample would only mislead
                continue
            written, token = 0, None
            while True:
                entries = [
                    e
                    for e in parse_page(await source.fetch_page(category, token))
                    if token is None or position(e) > token
                ]
                if not entries:
                    break
                # Every sample document is shown (relevance None): the snapshot holds only what illustrates.
                outcome = await apply_page(session, category, entries, None, origin=Origin.sample.value)
                written += outcome.counts.get("upserts", 0) + outcome.counts.get("deletes", 0)
                token = max(position(e) for e in entries)
            if written:
                await states.mark_samples(category)
            counts[category] = written
    log.info("tk_snapshot_loaded", origin=Origin.sample.value, **counts)
    return counts


async def prepare_tk(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
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
        log.info(
            "tk_feed_reachable", url=settings.tk_syncfeed_url, detail="live TK sync runs on the schedule"
        )
    else:
        log.warning(
            "tk_feed_unreachable",
            url=settings.tk_syncfeed_url,
            detail="TK SyncFeed not reachable: serving the bundled sample snapshot (origin "
            "`sample`); live sync resumes when it is",
        )
    return {"snapshot": loaded, "feed_reachable": reachable}
