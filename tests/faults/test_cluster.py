"""A cluster on one machine and its faults (issue 13): a PostgreSQL and a redis-server of the test's own, two
`nakoming serve` and two `nakoming worker` processes on loopback, a mixed load (list reads, commitment writes,
signal intake) and meanwhile: a worker killed (-9) in a TK sync and in a signal batch, an API process killed and
restarted, Redis restarted, PostgreSQL restarted (as a crash: `pg_ctl -m immediate`).

At the end: every acknowledged write is there exactly once, the signal batch finished with the right counts, the
TK mirror equals a clean run's, every commitment's status equals a fresh full recalculation, and the error budget
(failed requests per fault window) is printed; none may fail once the cluster has recovered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.worker.queue import ArqQueue
from shared.commitments.models import Commitment
from shared.db import create_engine, create_session_factory
from shared.jobs import enqueue_jobs, keyed
from shared.migrate import upgrade
from shared.signals.models import ClientSignal, SignalBatch
from shared.status import fanout
from shared.status.inputs import Thresholds
from shared.status.runner import recalculate_all
from shared.status.service import today
from shared.tk.models import TkSyncRun, TkSyncState
from shared.tk.testing import FeedServer
from tests.factories import create_theme, signal
from tests.faults.cluster import Load, PostgresServer
from tests.services.real import ApiServer, RedisServer, Worker, queue_idle, wait_until, worker_env, writer_key
from tests.services.test_tk_sync_kill import build_feed, in_process_sync, mirror_contents

pytestmark = pytest.mark.slow

BATCH_LINES = 12_000
STEADY = 4.0  # seconds of load after each recovery, which must all succeed


async def create_database(server: PostgresServer, name: str) -> tuple[str, AsyncEngine]:
    admin = create_engine(server.url())
    async with admin.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
            text(f'CREATE DATABASE "{name}"')
        )
    await admin.dispose()
    engine = create_engine(server.url(name))
    await upgrade(engine)
    return server.url(name), engine


class Cluster:
    def __init__(self, env: dict[str, str], tmp: Path, engine: AsyncEngine, redis: RedisServer) -> None:
        self.env, self.tmp, self.engine, self.redis_server = env, tmp, engine, redis
        self.apis = [ApiServer(env, tmp / f"api{n}.log") for n in range(2)]
        self.workers: list[Worker] = []
        self.redis = redis.client()

    def worker(self) -> Worker:
        worker = Worker(self.env, self.tmp / f"worker{len(self.workers)}.log").start()
        self.workers.append(worker)
        return worker

    async def scalar(self, stmt: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    async def kill_worker_running(self, job_id: str) -> None:
        """kill -9 the live worker that started `job_id` (arq logs `→ <job id>`, JSON-escaped), start a new one."""
        started = "\\u2192 " + job_id + ":"
        running = [w for w in self.workers if w.alive and started in w.output()]
        assert running, f"no live worker started {job_id}"
        running[-1].kill()
        self.worker()

    def stop(self) -> None:
        for process in [*self.apis, *self.workers]:
            process.stop()


async def fault(load: Load, name: str, action: Callable[[], Awaitable[None]]) -> None:
    """Run a fault and its recovery under the window `name`, then STEADY seconds under `after <name>`."""
    load.window = name
    await action()
    load.window = f"after {name}"
    await asyncio.sleep(STEADY)


async def test_cluster_survives_its_faults(tmp_path: Path) -> None:
    pg = PostgresServer().init()
    pg.start()
    (tmp_path / "redis").mkdir()
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    feed = build_feed()
    feed.delay = 0.3
    cluster: Cluster | None = None
    try:
        url, engine = await create_database(pg, "nakoming")
        with FeedServer(feed) as feed_server:
            env = worker_env(
                url,
                redis_server.url,
                NAKOMING_TK_SYNCFEED_URL=feed_server.url,
                NAKOMING_TK_REQUEST_INTERVAL="0",
                NAKOMING_TK_DOSSIERS="31765",
                NAKOMING_TK_TERMS="",
                NAKOMING_RECALC_BATCH_SIZE="40",
                NAKOMING_AUTH_FAILURES_PER_MINUTE="1000000",
            )
            cluster = Cluster(env, tmp_path, engine, redis_server)
            for api in cluster.apis:
                api.start()
            cluster.worker(), cluster.worker()
            for api in cluster.apis:
                await api.ready()
            await cluster.workers[0].ready(cluster.redis, 180)
            admin = await writer_key(engine)
            intake = await writer_key(engine, ["signals:write"])
            async with httpx.AsyncClient(base_url=cluster.apis[0].url, timeout=30) as client:
                await create_theme(client, admin, "bejegening")
            load = Load([api.url for api in cluster.apis], admin, intake)
            load.start()
            await asyncio.sleep(STEADY)
            batch_id = await run_faults(cluster, load, pg, redis_server, admin, intake)
            await load.stop()
            print("\nerror budget (failed requests per fault window)\n" + load.budget())

            await wait_until(lambda: queue_idle(cluster.redis), 240, "every job to finish")
            await check_results(cluster, load, batch_id, admin, feed, feed_server, pg)
    finally:
        if cluster is not None:
            cluster.stop()
            await cluster.redis.aclose()
        redis_server.stop()
        pg.remove()


async def run_faults(
    cluster: Cluster,
    load: Load,
    pg: PostgresServer,
    redis_server: RedisServer,
    admin: dict[str, str],
    intake: dict[str, str],
) -> uuid.UUID:
    api = cluster.apis[1].url
    batch: list[uuid.UUID] = []

    async def worker_in_tk_sync() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.post(f"{api}/v1/sync/runs", json={}, headers=admin)).status_code == 202

        async def toezegging_half_way() -> bool:
            token = await cluster.scalar(
                select(TkSyncState.skiptoken).where(TkSyncState.category == "Toezegging")
            )
            return token is not None and token >= 103

        await wait_until(toezegging_half_way, 120, "the Toezegging sync to be half-way", step=0.05)
        await cluster.kill_worker_running("tk.sync_category:Toezegging")

    async def worker_in_signal_batch() -> None:
        body = b"\n".join(orjson.dumps(signal(external_id=f"B-{i}")) for i in range(BATCH_LINES)) + b"\n"
        async with httpx.AsyncClient(timeout=60) as client:
            r = await client.post(
                f"{api}/v1/signals/batches",
                content=body,
                headers={**intake, "content-type": "application/x-ndjson"},
            )
        assert r.status_code == 202, r.text
        batch.append(uuid.UUID(r.json()["id"]))

        async def under_way() -> bool:
            done = await cluster.scalar(select(SignalBatch.processed_lines).where(SignalBatch.id == batch[0]))
            return bool(done) and done < BATCH_LINES

        await wait_until(under_way, 120, "the batch to be under way", step=0.02)
        await cluster.kill_worker_running(f"signals.process_batch:{batch[0]}")

    async def api_killed() -> None:
        await enqueue_jobs(ArqQueue(cluster.redis), [keyed(fanout.RUN_JOB)])  # a spread nightly run meanwhile
        cluster.apis[0].kill()
        cluster.apis[0].start()
        await cluster.apis[0].ready()

    async def redis_restarted() -> None:
        redis_server.stop(graceful=True)
        await asyncio.sleep(1)
        redis_server.start()
        await asyncio.sleep(1)  # the API's and workers' connections come back

    async def postgres_restarted() -> None:
        pg.stop("immediate")
        await asyncio.sleep(1)
        pg.start()
        for api in cluster.apis:
            await api.ready()

    await fault(load, "worker killed in a TK sync", worker_in_tk_sync)
    await fault(load, "worker killed in a signal batch", worker_in_signal_batch)
    await fault(load, "API process killed", api_killed)
    await fault(load, "Redis restarted", redis_restarted)
    await fault(load, "PostgreSQL restarted", postgres_restarted)
    # A spread nightly run after the faults: a write whose job was lost with a killed process is covered too.
    await enqueue_jobs(ArqQueue(cluster.redis), [keyed(fanout.RUN_JOB)])
    load.window = "after recovery"
    await asyncio.sleep(2 * STEADY)
    for window, counts in load.counts.items():
        if window.startswith("after"):
            assert counts["failed"] == 0, load.budget()
    assert sum(c["ok"] for c in load.counts.values()) > 100, load.budget()
    return batch[0]


async def check_results(
    cluster: Cluster,
    load: Load,
    batch_id: uuid.UUID,
    admin: dict[str, str],
    feed: Any,
    feed_server: FeedServer,
    pg: PostgresServer,
) -> None:
    engine = cluster.engine
    async with engine.connect() as conn:
        titles = dict(
            (
                await conn.execute(
                    select(Commitment.title, func.count())
                    .where(Commitment.title.like(f"Cluster {load.tag} %"))
                    .group_by(Commitment.title)
                )
            ).all()
        )
        signals = dict(
            (
                await conn.execute(
                    select(ClientSignal.external_id, func.count())
                    .where(ClientSignal.external_id.like(f"CL-{load.tag}-%"))
                    .group_by(ClientSignal.external_id)
                )
            ).all()
        )
        runs = (await conn.execute(select(TkSyncRun.category, TkSyncRun.status))).all()
    # Every acknowledged write exactly once (an unacknowledged one may have landed, but never twice).
    assert load.commitments and all(titles.get(t) == 1 for t in load.commitments)
    assert load.signals and all(signals.get(e) == 1 for e in load.signals)
    assert set(titles.values()) == {1} and set(signals.values()) == {1}

    async with httpx.AsyncClient(timeout=30) as client:
        got = (await client.get(f"{cluster.apis[0].url}/v1/signals/batches/{batch_id}", headers=admin)).json()
    assert got["status"] == "done", got
    assert (got["accepted"], got["duplicate"], got["rejected"]) == (BATCH_LINES, 0, 0)

    assert not [r for r in runs if str(r.status) == "running"], runs
    assert ("Toezegging", "abandoned") in [
        (r.category, str(r.status)) for r in runs
    ]  # the killed run, closed
    feed.delay = 0.0
    clean_url, clean_engine = await create_database(pg, "clean")
    try:
        assert all(
            s.status == "succeeded" for s in await in_process_sync(clean_url, clean_engine, feed_server.url)
        )
        assert await mirror_contents(engine) == await mirror_contents(clean_engine)
    finally:
        await clean_engine.dispose()

    record = await fanout.last_run(cluster.redis)
    assert record is not None and "finished_at" in record, record
    fresh = await recalculate_all(create_session_factory(engine), Thresholds(), as_of=today(), batch_size=500)
    assert fresh.commitments >= len(load.commitments)
    assert (fresh.changed, fresh.milestones_changed, fresh.recommendations_changed) == (0, 0, 0)
    await engine.dispose()
