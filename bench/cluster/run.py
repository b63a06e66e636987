"""Benchmark of a cluster on one machine: the mixed load of tests/faults/test_cluster.py without faults, over one
API process and over two; and the nightly full recalculation with one worker and with two.

    python3 -m uv run python bench/cluster/run.py [--seconds 60] [--scale 0.2] [--rounds 2] [--batch 2000]

Starts a PostgreSQL of its own (initdb in a temporary directory), a redis-server, two `nakoming serve` and up to
two `nakoming worker` processes on loopback. The dataset is bench/status's (100,000 commitments with milestones,
measurements, actions and signals, times --scale). Prints a table per part; the figures are in RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).parents[2]))

from bench.status.run import build, machine, reset
from services.worker.queue import ArqQueue
from shared.db import create_engine, create_session_factory
from shared.jobs import enqueue_jobs, keyed
from shared.status import fanout
from shared.status.concerned import SWEEP
from shared.status.inputs import Thresholds
from shared.status.runner import recalculate_all
from tests.factories import create_theme
from tests.faults.cluster import Load, PostgresServer
from tests.services.real import ApiServer, RedisServer, Worker, wait_until, worker_env, writer_key

OPS = ("read", "commitment", "signal")


async def mixed_load(
    apis: list[str], writer: dict[str, str], intake: dict[str, str], seconds: float, loops: int
) -> Load:
    load = Load(apis, writer, intake, loops=loops, pause=0, timeout=30)
    load.start()
    await asyncio.sleep(seconds)
    await load.stop()
    return load


async def nightly(env: dict[str, str], tmp: Path, redis: RedisServer, url: str, workers: int) -> float:
    """Seconds from enqueueing the nightly job to its run's closing, with `workers` fresh workers."""
    await reset(url)
    await quiet_sweep(url)
    client = redis.client()
    # Nothing else queued: the load phase leaves thousands of single recalculations (its signals concern many
    # commitments), which would run beside the nightly run and be timed with it.
    await client.flushdb()
    started = [Worker(env, tmp / f"nightly-{workers}-{n}.log").start() for n in range(workers)]
    try:
        await started[0].ready(client, 300)
        for worker in started:  # every worker polls the queue (under load, imports alone take half a minute)
            await wait_until(
                lambda w=worker: _true(w.output().count("Starting worker for") > 0), 300, "the workers"
            )
        begin = time.perf_counter()
        await enqueue_jobs(ArqQueue(client), [keyed(fanout.RUN_JOB)])

        async def closed() -> bool:
            record = await fanout.last_run(client)
            return record is not None and "finished_at" in record

        await wait_until(closed, 1800, "the nightly run to close", step=0.1)
        took = time.perf_counter() - begin
        record = await fanout.last_run(client)
        assert record is not None
        print(
            f"  nightly, {workers} worker(s): {took:.1f} s, load {os.getloadavg()[0]:.1f}, ranges "
            f"{record['total']}, commitments {record['commitments']}, changed {record['changed']}; "
            f"statuses {await statuses(url)}",
            flush=True,
        )
        return took
    finally:
        for worker in started:
            worker.stop()
        await client.aclose()


async def _true(value: bool) -> bool:
    return value


async def statuses(url: str) -> str:
    """A digest of every stored status, schedule and reasons digest: equal after every way of running."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return (
            await conn.fetchval(
                "SELECT md5(string_agg(id::text || status || schedule || coalesce(reasons_digest, ''), ',' ORDER BY id))"
                " FROM commitments"
            )
        )[:12]
    finally:
        await conn.close()


async def quiet_sweep(url: str) -> None:
    """Move the signal sweep's checkpoint to now: its first run would otherwise find every commitment concerned by
    the dataset's recent signals and queue thousands of single recalculations beside the timed run."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(
            "INSERT INTO job_checkpoints (name, at) VALUES ($1, now()) "
            "ON CONFLICT (name) DO UPDATE SET at = now()",
            SWEEP,
        )
    finally:
        await conn.close()


async def in_process(url: str, batch: int) -> float:
    await reset(url)
    engine = create_engine(url, pool_size=5)
    try:
        begin = time.perf_counter()
        summary = await recalculate_all(create_session_factory(engine), Thresholds(), batch_size=batch)
        took = time.perf_counter() - begin
    finally:
        await engine.dispose()
    print(
        f"  nightly, in one process (`nakoming recalc --all`): {took:.1f} s, load {os.getloadavg()[0]:.1f}, "
        f"commitments {summary.commitments}, changed {summary.changed}; statuses {await statuses(url)}",
        flush=True,
    )
    return took


def load_table(loads: dict[str, Load], seconds: float) -> str:
    lines = [
        "| API processes | operation | requests/s | p50 ms | p99 ms | failed |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, load in loads.items():
        failed = sum(c["failed"] for c in load.counts.values())
        for op in OPS:
            lines.append(
                f"| {name} | {op} | {len(load.latencies[op]) / seconds:.1f} | "
                f"{load.percentile(op, 0.5) * 1000:.0f} | {load.percentile(op, 0.99) * 1000:.0f} | |"
            )
        total = sum(len(v) for v in load.latencies.values())
        lines.append(f"| {name} | **all** | **{total / seconds:.1f}** | | | {failed} |")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}; load average at start {os.getloadavg()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    pg = PostgresServer().init()
    pg.start()
    redis = RedisServer()
    redis.start()
    processes: list[ApiServer] = []
    try:
        url = pg.url("bench_cluster")
        started = time.perf_counter()
        await build(url, args.scale, random.Random(13))
        print(f"dataset built in {time.perf_counter() - started:.0f} s", flush=True)
        # The production lease (30 s), not the tests' 6 s: on a loaded machine a range's CPU-bound stretches can hold
        # the event loop past a 6 s lease, and another worker then runs the same range again (correct, but wasted).
        env = worker_env(
            url,
            redis.url,
            NAKOMING_RECALC_BATCH_SIZE=str(args.batch),
            NAKOMING_JOB_LEASE_SECONDS="30",
            NAKOMING_AUTH_FAILURES_PER_MINUTE="1000000",
        )
        processes = [ApiServer(env, tmp / f"api{n}.log").start() for n in range(2)]
        workers = [Worker(env, tmp / f"worker{n}.log").start() for n in range(2)]  # drain the writes' jobs
        for api in processes:
            await api.ready()
        engine = create_engine(url)
        writer, intake = await writer_key(engine), await writer_key(engine, ["signals:write"])
        await engine.dispose()
        async with httpx.AsyncClient(base_url=processes[0].url, timeout=30) as client:
            if (await client.get("/v1/themes/bejegening", headers=writer)).status_code == 404:
                await create_theme(client, writer, "bejegening")
        loads: dict[str, Load] = {}
        for n in (1, 2) if "load" in args.parts else ():
            print(
                f"mixed load, {n} API process(es), {args.seconds:.0f} s, {args.loops} loops; load average "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
            loads[f"{n}"] = await mixed_load(
                [p.url for p in processes[:n]], writer, intake, args.seconds, args.loops
            )
            print(f"  load average after: {os.getloadavg()[0]:.1f}", flush=True)
        for worker in workers:
            worker.stop()
        if loads:
            print(load_table(loads, args.seconds), flush=True)
        if "nightly" not in args.parts:
            return

        timings: dict[str, list[float]] = {"in one process": [], "1 worker": [], "2 workers": []}
        for _ in range(args.rounds):
            timings["in one process"].append(await in_process(url, args.batch))
            timings["1 worker"].append(await nightly(env, tmp, redis, url, 1))
            timings["2 workers"].append(await nightly(env, tmp, redis, url, 2))
        one = statistics.median(timings["1 worker"])
        print("| nightly full run | median s | min-max s | vs 1 worker |\n|---|---:|---:|---:|")
        for name, values in timings.items():
            print(
                f"| {name} | {statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} | "
                f"{statistics.median(values) / one:.2f} |"
            )
        print(f"load average at the end {os.getloadavg()}", flush=True)
    finally:
        for api in processes:
            api.stop()
        redis.stop()
        pg.remove()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--batch", type=int, default=2000, help="commitments per range (NAKOMING_RECALC_BATCH_SIZE)"
    )
    parser.add_argument("--loops", type=int, default=8, help="concurrent request loops")
    parser.add_argument("--parts", default="load,nightly", help="comma list: load, nightly")
    asyncio.run(main(parser.parse_args()))
