"""The embedded default's TK start: the bundled snapshot loads offline, idempotently, with a clear log line."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from structlog.testing import capture_logs

from shared.settings import Settings
from shared.tk.models import TkDocument, TkSyncState, TkToezegging
from shared.tk.offline import prepare_tk


async def count(session_factory: Any, model: Any) -> int:
    async with session_factory() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_snapshot_loads_offline_and_says_the_feed_is_unreachable(session_factory: Any) -> None:
    settings = Settings(environment="test", tk_syncfeed_url="http://127.0.0.1:9/SyncFeed/2.0", _env_file=None)  # type: ignore[call-arg]
    async with httpx.AsyncClient() as http:
        with capture_logs() as logs:
            result = await prepare_tk(session_factory, settings, http)
        assert result["feed_reachable"] is False
        assert result["snapshot"]["Toezegging"] == 4
        assert any(e["event"] == "tk_feed_unreachable" for e in logs)
        assert await count(session_factory, TkToezegging) == 4 and await count(session_factory, TkDocument) == 2
        async with session_factory() as s:
            assert (await s.get(TkSyncState, "Toezegging")).skiptoken == 1844310
        again = await prepare_tk(session_factory, settings, http)  # idempotent
        assert sum(again["snapshot"].values()) == 0
        assert await count(session_factory, TkToezegging) == 4
