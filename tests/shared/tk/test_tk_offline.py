"""The embedded default's TK start: the bundled snapshot loads offline as `sample` entities, idempotently and
without moving a checkpoint; the first successful live sync of a category removes them and recalculates the
commitments that cited them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from structlog.testing import capture_logs

from shared.commitments.models import Commitment
from shared.settings import Settings
from shared.status.loaders_tk import load_tk
from shared.tk.models import TkDocument, TkKamerstukdossier, TkSyncState, TkToezegging
from shared.tk.offline import load_snapshot, prepare_tk
from shared.tk.testing import Fault, document, toezegging

OFFLINE = {"environment": "test", "tk_syncfeed_url": "http://127.0.0.1:9/SyncFeed/2.0", "_env_file": None}


async def count(session_factory: Any, model: Any, **where: Any) -> int:
    async with session_factory() as s:
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return (await s.execute(stmt)).scalar_one()


async def state(session_factory: Any, category: str) -> TkSyncState:
    async with session_factory() as s:
        return await s.get(TkSyncState, category)


async def test_snapshot_loads_offline_as_sample_and_says_the_feed_is_unreachable(
    session_factory: Any,
) -> None:
    settings = Settings(**OFFLINE)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as http:
        with capture_logs() as logs:
            result = await prepare_tk(session_factory, settings, http)
        assert result["feed_reachable"] is False
        assert result["snapshot"]["Toezegging"] == 4
        assert any(e["event"] == "tk_feed_unreachable" for e in logs)
        assert await count(session_factory, TkToezegging, origin="sample") == 4
        assert await count(session_factory, TkDocument, origin="sample") == 2
        assert await count(session_factory, TkToezegging, origin="feed") == 0
        st = await state(session_factory, "Toezegging")
        assert st.skiptoken is None and st.has_samples is True  # the sample's tokens are not the feed's
        again = await prepare_tk(session_factory, settings, http)  # idempotent: no field changes
        assert sum(again["snapshot"].values()) == 0
        assert await count(session_factory, TkToezegging) == 4
    async with session_factory() as s:
        loaded = (await load_tk(s, ["TZ202511-041"]))["TZ202511-041"]
    assert (
        loaded.sample is True
        and loaded.fulfilment_letter is not None
        and loaded.fulfilment_letter.sample is True
    )


async def test_first_live_sync_removes_samples_and_recalculates(
    feed, make_runner, session_factory, recalculations
):
    queue, recorder = recalculations
    await load_snapshot(session_factory, Settings(**OFFLINE))  # type: ignore[arg-type]
    async with session_factory() as s:
        follows_sample = Commitment(title="Volgt een voorbeeld", tk_toezegging_nummer="TZ202511-041")
        follows_live = Commitment(title="Volgt de feed", tk_toezegging_nummer="TZ-LIVE")
        s.add_all([follows_sample, follows_live])
        await s.commit()
    feed.add("Toezegging", toezegging(str(uuid.UUID(int=1)), 1, nummer="TZ-LIVE", kamerbrief="2026D07125"))
    # a failed live run removes nothing
    feed.inject(*[Fault("500", category="Toezegging")] * 10)
    failed = await make_runner(queue).run_category("Toezegging")
    assert failed.status == "failed" and failed.samples_removed == 0
    assert await count(session_factory, TkToezegging, origin="sample") == 4
    feed.faults.clear()
    summary = await make_runner(queue).run_category("Toezegging")
    await queue.drain()
    assert summary.status == "succeeded" and summary.samples_removed == 4
    async with session_factory() as s:
        live = list((await s.execute(select(TkToezegging.nummer, TkToezegging.origin))).all())
    assert live == [("TZ-LIVE", "feed")]
    assert (await state(session_factory, "Toezegging")).has_samples is False
    assert str(follows_sample.id) in recorder.commitments and str(follows_live.id) in recorder.commitments
    # other categories keep their samples until their own first live sync
    assert await count(session_factory, TkDocument, origin="sample") == 2
    assert await count(session_factory, TkKamerstukdossier, origin="sample") == 3
    # the live toezegging names the sample letter 2026D07125: the live Document sync replaces it
    recorder.commitments.clear()
    feed.add("Document", document(str(uuid.UUID(int=105)), 1, nummer="2026D07125", titel="Echte brief"))
    documents = await make_runner(queue).run_category("Document")
    await queue.drain()
    assert documents.samples_removed == 2
    async with session_factory() as s:
        docs = list((await s.execute(select(TkDocument.nummer, TkDocument.origin))).all())
        tz = (await s.execute(select(TkToezegging))).scalar_one()
        loaded = (await load_tk(s, ["TZ-LIVE"]))["TZ-LIVE"]
    assert docs == [("2026D07125", "feed")] and tz.kamerbrief_document_id == uuid.UUID(int=105)
    assert loaded.fulfilment_letter.titel == "Echte brief" and loaded.fulfilment_letter.sample is False
    assert set(recorder.commitments) == {str(follows_live.id)}  # its letter: the live one in, the sample out
    # the snapshot is never loaded again over a category that was synced live
    reloaded = await load_snapshot(session_factory, Settings(**OFFLINE))  # type: ignore[arg-type]
    assert sum(reloaded.values()) == 0
    assert await count(session_factory, TkToezegging, origin="sample") == 0
    assert await count(session_factory, TkDocument, origin="sample") == 0
