"""Faults from a real loopback server: 500s, 503 + Retry-After, slow responses, truncated XML, outages,
and a concurrent run moving the checkpoint. A failed page never moves the checkpoint."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from shared.tk.models import TkSyncRun, TkSyncState, TkToezegging
from shared.tk.testing import Fault, toezegging


def g(n: int) -> str:
    return str(uuid.UUID(int=n))


def add_toezeggingen(feed: Any, n: int) -> None:
    feed.add(
        "Toezegging",
        *[
            toezegging(g(i), 100 + i, nummer=f"TZ-{i}", bijgewerkt=f"2026-01-01T10:00:{i:02d}Z")
            for i in range(1, n + 1)
        ],
    )


async def snapshot(session_factory: Any) -> list[tuple[Any, ...]]:
    async with session_factory() as s:
        result = await s.execute(
            select(
                TkToezegging.id,
                TkToezegging.nummer,
                TkToezegging.status,
                TkToezegging.bijgewerkt,
                TkToezegging.verwijderd,
            ).order_by(TkToezegging.id)
        )
        return [tuple(r) for r in result.all()]


async def checkpoint(session_factory: Any, category: str = "Toezegging") -> TkSyncState:
    async with session_factory() as s:
        return await s.get(TkSyncState, category)


async def test_500_and_503_retry_after_are_retried(feed, make_runner, session_factory):
    add_toezeggingen(feed, 3)
    feed.inject(Fault("500"), Fault("503", retry_after="7"))
    runner = make_runner()
    summary = await runner.run_category("Toezegging")
    assert summary.status == "succeeded" and summary.upserts == 3
    assert len(runner.waits) == 2
    assert 0.25 <= runner.waits[0] <= 0.5  # first backoff: base 0.5 with jitter in [base/2, base]
    assert runner.waits[1] == 7.0  # Retry-After honoured
    assert feed.requests[:3] == [("Toezegging", None)] * 3


async def test_retry_after_is_capped_and_backoff_grows(feed, make_runner):
    add_toezeggingen(feed, 1)
    feed.inject(Fault("503", retry_after="3600"), Fault("500"), Fault("500"))
    runner = make_runner(tk_backoff_max=30.0)
    assert (await runner.run_category("Toezegging")).status == "succeeded"
    assert runner.waits[0] == 30.0
    assert 0.5 <= runner.waits[1] <= 1.0 and 1.0 <= runner.waits[2] <= 2.0


async def test_outage_fails_run_without_moving_checkpoint_then_resumes(feed, make_runner, session_factory):
    feed.page_size = 2
    add_toezeggingen(feed, 5)
    await make_runner().run_category("Toezegging")
    assert (await checkpoint(session_factory)).skiptoken == 105
    feed.add("Toezegging", toezegging(g(6), 106, nummer="TZ-6"))
    feed.inject(*[Fault("500", category="Toezegging")] * 4)  # more than tk_max_retries=3
    summary = await make_runner().run_category("Toezegging")
    assert summary.status == "failed" and "HTTP 500" in summary.error
    st = await checkpoint(session_factory)
    assert st.skiptoken == 105 and "HTTP 500" in st.last_error
    feed.requests.clear()
    summary = await make_runner().run_category("Toezegging")
    assert summary.status == "succeeded" and summary.upserts == 1
    assert feed.requests[0] == ("Toezegging", 105)
    async with session_factory() as s:
        statuses = [
            r.status for r in (await s.execute(select(TkSyncRun).order_by(TkSyncRun.started_at))).scalars()
        ]
    assert statuses == ["succeeded", "failed", "succeeded"]


async def test_client_errors_are_not_retried(feed, make_runner, feed_server):
    runner = make_runner(tk_syncfeed_url=feed_server.url.replace("/SyncFeed/2.0", "/wrong"))
    summary = await runner.run_category("Toezegging")
    assert summary.status == "failed" and "HTTP 404" in summary.error
    assert runner.waits == []


async def test_slow_response_times_out_and_is_retried(feed, make_runner, session_factory):
    add_toezeggingen(feed, 2)
    feed.inject(Fault("slow", seconds=1.5))
    runner = make_runner(tk_request_timeout=0.3)
    summary = await runner.run_category("Toezegging")
    assert summary.status == "succeeded" and summary.upserts == 2
    assert len(runner.waits) == 1 and len(feed.requests) >= 2


async def test_truncated_page_fails_category_and_next_run_resumes(feed, make_runner, session_factory):
    feed.page_size = 2
    add_toezeggingen(feed, 7)
    feed.inject(Fault("truncate", category="Toezegging"))  # the very first page
    first = await make_runner().run_category("Toezegging")
    assert first.status == "failed" and "MalformedPage" in first.error and first.pages == 0
    assert (await checkpoint(session_factory)).skiptoken is None
    assert await snapshot(session_factory) == []

    await make_runner().run_category("Toezegging")  # pages 1-4
    feed.add("Toezegging", *[toezegging(g(i), 100 + i, nummer=f"TZ-{i}") for i in range(8, 12)])
    feed.requests.clear()
    feed.inject(Fault("500", category="Toezegging"), Fault("truncate", category="Toezegging"))
    # A malformed page is not retried: the 500 is, then the truncated retry fails the run where it stands.
    second = await make_runner().run_category("Toezegging")
    assert second.status == "failed" and (await checkpoint(session_factory)).skiptoken == 107
    third = await make_runner().run_category("Toezegging")
    assert third.status == "succeeded" and third.upserts == 4
    assert (await checkpoint(session_factory)).skiptoken == 111
    assert [n for _, n, *_ in await snapshot(session_factory)] == [f"TZ-{i}" for i in range(1, 12)]


async def test_one_category_failing_does_not_stop_the_others(feed, make_runner, session_factory):
    add_toezeggingen(feed, 2)
    feed.inject(*[Fault("500", category="Zaak")] * 10)
    summaries = {s.category: s for s in await make_runner().run()}
    assert summaries["Zaak"].status == "failed"
    assert summaries["Toezegging"].status == "succeeded" and summaries["Toezegging"].upserts == 2
    assert summaries["Document"].status == "succeeded"


async def test_concurrent_run_moving_the_checkpoint_stops_this_one(feed, make_runner, session_factory):
    feed.page_size = 1
    add_toezeggingen(feed, 3)
    runner = make_runner()
    moved = []

    def progress(summary: Any) -> None:
        moved.append(summary.end_token)

    runner.progress = progress
    original = runner._apply

    async def apply_then_interfere(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        if len(moved) == 0:  # another process advanced the checkpoint right after our first page
            async with session_factory() as s:
                await s.execute(
                    update(TkSyncState).where(TkSyncState.category == "Toezegging").values(skiptoken=102)
                )
                await s.commit()

    runner._apply = apply_then_interfere
    summary = await runner.run_category("Toezegging")
    assert summary.status == "failed" and "CheckpointMoved" in summary.error
    assert summary.pages == 1  # the second page was rolled back with its checkpoint
    assert len(await snapshot(session_factory)) == 1
