"""`kill -9` of the real `nakoming worker` in the middle of a job, then a new worker: the job runs again once
its lease lapses (seconds, not arq's hour-long in-progress key) and finishes; nothing is left queued, running or
marked `running`. A TK sync (a local feed), a signal batch and a full recalculation, on Redis and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.worker.queue import ArqQueue
from shared.commitments.models import Commitment
from shared.jobs import enqueue_jobs, keyed
from shared.signals.models import SignalBatch
from shared.tk.models import TkSyncRun, TkSyncState
from shared.tk.testing import FeedServer
from tests.factories import create_theme, signal
from tests.services.real import (
    Worker,
    api,
    own_database,
    queue_idle,
    redis_server,
    settings_for,
    wait_until,
    worker_env,
    writer_key,
)
from tests.services.test_tk_sync_kill import build_feed

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


class Setup:
    def __init__(self, url: str, engine: AsyncEngine, redis_url: str, tmp: Path) -> None:
        self.url, self.engine, self.redis_url, self.tmp = url, engine, redis_url, tmp
        self.workers: list[Worker] = []

    async def worker(self, **env: str) -> Worker:
        worker = Worker(
            worker_env(self.url, self.redis_url, **env), self.tmp / f"worker{len(self.workers)}.log"
        )
        self.workers.append(worker.start())
        return worker

    async def scalar(self, stmt: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()


@pytest.fixture
async def setup(backend: str, tmp_path: Path) -> AsyncIterator[Setup]:
    url, engine = await own_database("jobs_kill")
    with redis_server() as server:
        s = Setup(url, engine, server.url, tmp_path)
        s.redis = server.client()  # type: ignore[attr-defined]
        try:
            yield s
        finally:
            for worker in s.workers:
                worker.stop()
            await s.redis.aclose()  # type: ignore[attr-defined]
            await engine.dispose()


async def kill_then_restart(s: Setup, started: Any, env: dict[str, str]) -> Worker:
    """Kill the first worker once `started()` holds (the job is under way), start a second one."""
    first = s.workers[0]
    await wait_until(started, 60, "the job to be under way", step=0.02)
    first.kill()
    assert await s.redis.keys("arq:in-progress:*")  # type: ignore[attr-defined]  # the dead worker's lease
    second = await s.worker(**env)
    await wait_until(lambda: queue_idle(s.redis), 90, "the job to be run again and finish")  # type: ignore[attr-defined]
    assert second.alive, second.output()[-3000:]
    return second


async def test_killed_during_a_tk_sync(setup: Setup) -> None:
    s = setup
    feed = build_feed()
    feed.delay = 0.3
    with FeedServer(feed) as server:
        env = {
            "NAKOMING_TK_SYNCFEED_URL": server.url,
            "NAKOMING_TK_REQUEST_INTERVAL": "0",
            "NAKOMING_TK_DOSSIERS": "31765",
            "NAKOMING_TK_TERMS": "",
        }
        await (await s.worker(**env)).ready(s.redis)  # type: ignore[attr-defined]
        async with api(settings_for(s.url, s.redis_url, "arq")) as client:
            r = await client.post("/v1/sync/runs", json={}, headers=await writer_key(s.engine))
            assert r.status_code == 202, r.text

        async def toezegging_half_way() -> bool:
            token = await s.scalar(select(TkSyncState.skiptoken).where(TkSyncState.category == "Toezegging"))
            return token is not None and token >= 103

        await kill_then_restart(s, toezegging_half_way, env)
    async with s.engine.connect() as conn:
        runs = (await conn.execute(select(TkSyncRun.category, TkSyncRun.status))).all()
        states = dict((await conn.execute(select(TkSyncState.category, TkSyncState.skiptoken))).all())
    assert not [r for r in runs if r.status == "running"]
    assert ("Toezegging", "abandoned") in [(r.category, str(r.status)) for r in runs]
    assert {c for c, st in runs if str(st) == "succeeded"} >= {
        "Kamerstukdossier",
        "Zaak",
        "Toezegging",
        "Document",
    }
    assert states["Toezegging"] == 141 and states["Document"] == 229  # the chain went on to the end


async def test_killed_during_a_signal_batch(setup: Setup) -> None:
    s = setup
    await (await s.worker()).ready(s.redis)  # type: ignore[attr-defined]
    lines = 20_000
    body = b"\n".join(orjson.dumps(signal(external_id=f"K-{i}")) for i in range(lines)) + b"\n"
    async with api(settings_for(s.url, s.redis_url, "arq")) as client:
        headers = await writer_key(s.engine, ["admin"])
        await create_theme(client, headers, "bejegening")
        r = await client.post(
            "/v1/signals/batches", content=body, headers={**headers, "content-type": "application/x-ndjson"}
        )
        assert r.status_code == 202, r.text
        batch_id = uuid.UUID(r.json()["id"])

        async def under_way() -> bool:
            done = await s.scalar(select(SignalBatch.processed_lines).where(SignalBatch.id == batch_id))
            return bool(done) and done < lines

        await kill_then_restart(s, under_way, {})
        got = (await client.get(f"/v1/signals/batches/{batch_id}", headers=headers)).json()
    assert got["status"] == "done", got
    assert (got["accepted"], got["duplicate"], got["rejected"]) == (lines, 0, 0)


async def test_killed_during_a_recalculation(setup: Setup) -> None:
    s = setup
    count = 30_000
    now = dt.datetime.now(dt.UTC)
    async with s.engine.begin() as conn:
        rows = [
            {
                "id": uuid.uuid4(),
                "title": f"Toezegging {i}",
                "due_date": dt.date(2020 + i % 10, 1, 1),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for i in range(count)
        ]
        await conn.execute(insert(Commitment), rows)
    env = {"NAKOMING_RECALC_BATCH_SIZE": "1000"}
    await (await s.worker(**env)).ready(s.redis)  # type: ignore[attr-defined]
    queue = ArqQueue(s.redis)  # type: ignore[attr-defined]
    await enqueue_jobs(queue, [keyed("status.recalculate_all")])
    evaluated = select(func.count()).select_from(Commitment).where(Commitment.evaluated_at.is_not(None))

    async def under_way() -> bool:
        return 0 < await s.scalar(evaluated) < count

    await kill_then_restart(s, under_way, env)
    assert await s.scalar(evaluated) == count
