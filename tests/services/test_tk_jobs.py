"""The worker jobs `tk.sync_all` and `tk.sync_category`, run by the in-process queue against a fake feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from structlog.testing import capture_logs

from services.worker.context import build_context, close_context
from services.worker.queue import InProcessQueue
from services.worker.registry import SCHEDULES, load_all
from shared.settings import Settings
from shared.tk.models import TkSyncRun, TkSyncState
from shared.tk.testing import FakeFeed
from tests.tk_feed import FIXTURES, feed, feed_server, settings  # noqa: F401  (fixtures)


def test_sync_all_is_scheduled_on_the_interval_setting() -> None:
    load_all()  # the task modules register their schedules when imported (whatever ran before this test)
    (schedule,) = [s for s in SCHEDULES if s.name == "tk.sync_all"]
    assert schedule.setting == "tk_sync_interval"


async def test_sync_all_job_syncs_every_category(queue: Any, session_factory: Any, feed: FakeFeed) -> None:
    await queue.enqueue("tk.sync_all", job_id="cron:tk.sync_all")
    await queue.drain()
    async with session_factory() as s:
        states = {st.category: st.skiptoken for st in (await s.execute(select(TkSyncState))).scalars()}
        triggers = set((await s.execute(select(TkSyncRun.trigger))).scalars())
    assert states == {
        "Kamerstukdossier": 9188420,
        "Zaak": 44512877,
        "Activiteit": 30110455,
        "Toezegging": 1844310,
        "Document": 20988190,
    }
    assert triggers == {"schedule"}


async def test_sync_category_job(queue: Any, session_factory: Any) -> None:
    await queue.enqueue("tk.sync_category", job_id="tk.sync_category:Zaak", category="Zaak")
    await queue.drain()
    async with session_factory() as s:
        assert (await s.get(TkSyncState, "Zaak")).skiptoken == 44512877
        assert await s.get(TkSyncState, "Toezegging") is None


async def test_sync_all_offline_logs_clearly_and_changes_nothing(
    settings: Settings, connection: Any, session_factory: Any
) -> None:
    offline = settings.model_copy(update={"tk_syncfeed_url": "http://127.0.0.1:9/SyncFeed/2.0"})
    ctx = await build_context(offline, engine=connection.engine, session_factory=session_factory)
    queue = InProcessQueue(ctx, load_all())
    try:
        with capture_logs() as logs:
            await queue.enqueue("tk.sync_all", job_id="cron:tk.sync_all")
            await queue.drain()
    finally:
        await queue.close()
        await close_context(ctx)
    assert any(e["event"] == "tk_feed_unreachable" for e in logs)
    async with session_factory() as s:
        assert list((await s.execute(select(TkSyncRun))).scalars()) == []
