"""bench/visible: write-to-visible-status latency in the production shape (`nakoming serve` + `nakoming worker`,
PostgreSQL, Redis), and the writes whose effect is missing at the end.

    python3 -m uv run python bench/visible/run.py [--rate 50] [--duration 60] [--commitments 200]

Open-loop load: `--rate` PATCHes per second for `--duration` seconds, each moving one commitment's due date
between the past and the far future (schedule `overdue` / `on_time`), round robin over `--commitments` (1,000: one write per
commitment every 20 s, so two writes of one commitment are never in flight together). A reader
reads the stored status of the commitments with unseen writes every 50 ms (from PostgreSQL, which is what the
API serves; reading through the API would load the process being measured); a write is visible at the first
read that shows its schedule evaluated after it was sent. Latency = that read's time minus the write's answer
(so it includes up to 50 ms of polling). A write overtaken by the next write to the same commitment before it was seen is counted apart. At
the end (once the queue is idle) every commitment must show the schedule of the due date its last committed
write left: any that does not is "missing".

BENCH_DATABASE_URL names the database (default .../bench_visible; dropped and recreated). The script starts its
own redis-server (--redis-port, default 18191), the API (--port, default 18190) and one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database  # noqa: E402
from shared.auth.service import create_api_key  # noqa: E402
from shared.commitments.models import Commitment  # noqa: E402
from shared.db import create_engine, create_session_factory, session_scope  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_visible")
DATES = {"overdue": "2020-03-01", "on_time": "2099-03-01"}
POLL = 0.05


@dataclass
class Write:
    commitment: str
    schedule: str
    sent: float  # wall clock (comparable with evaluated_at: same machine)
    answered: float = 0.0
    status: int = 0
    seen: float | None = None


@dataclass
class Book:
    writes: list[Write] = field(default_factory=list)
    unseen: dict[str, list[Write]] = field(default_factory=dict)


async def prepare(n: int) -> tuple[list[str], str]:
    engine = await fresh_database(DB_URL)
    now = dt.datetime.now(dt.UTC)
    ids = [uuid.uuid4() for _ in range(n)]
    async with engine.begin() as conn:
        await conn.execute(
            insert(Commitment),
            [
                {
                    "id": i,
                    "title": f"Zichtbaar {k}",
                    "due_date": None,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for k, i in enumerate(ids)
            ],
        )
    async with session_scope(create_session_factory(engine)) as session:
        _, key = await create_api_key(session, name="bench visible", scopes=["read", "write"])
    await engine.dispose()
    return [str(i) for i in ids], key


def env(redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "NAKOMING_DATABASE_URL": DB_URL,
        "NAKOMING_REDIS_URL": redis_url,
        "NAKOMING_JOB_BACKEND": "arq",
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_ENVIRONMENT": "test",
        "NAKOMING_TK_SYNC_INTERVAL": "86400",
    }


async def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(1800):  # a busy machine may take a minute to import everything
            if proc.poll() is not None:
                raise RuntimeError("the API exited")
            try:
                if (await c.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not start")


async def writer(
    client: httpx.AsyncClient, ids: list[str], key: str, book: Book, rate: float, seconds: float
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    flips = dict.fromkeys(ids, "on_time")
    tasks = []
    start = time.monotonic()
    total = int(rate * seconds)

    async def one(w: Write) -> None:
        try:
            r = await client.patch(
                f"/v1/commitments/{w.commitment}", json={"due_date": DATES[w.schedule]}, headers=headers
            )
        except httpx.HTTPError:
            w.answered, w.status = time.time(), -1  # connection reset or timed out: not acknowledged
            return
        w.answered, w.status = time.time(), r.status_code
        if r.status_code == 200:
            book.unseen.setdefault(w.commitment, []).append(w)

    for k in range(total):
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        commitment = ids[k % len(ids)]
        flips[commitment] = "overdue" if flips[commitment] == "on_time" else "on_time"
        w = Write(commitment, flips[commitment], time.time())
        book.writes.append(w)
        tasks.append(asyncio.create_task(one(w)))
    await asyncio.gather(*tasks)


def observe(book: Book, items: list[dict], at: float) -> None:
    for item in items:
        pending = sorted(book.unseen.get(item["id"], []), key=lambda w: w.sent)
        if not pending or not item["evaluated_at"]:
            continue
        evaluated = dt.datetime.fromisoformat(item["evaluated_at"]).timestamp()
        shown = [k for k, w in enumerate(pending) if evaluated >= w.sent and item["schedule"] == w.schedule]
        if not shown:
            continue
        last = shown[-1]
        pending[last].seen = at
        for w in pending[:last]:
            w.seen = -1.0  # overtaken: a later write of this commitment showed before it did
        book.unseen[item["id"]] = pending[last + 1 :]


async def reader(engine: AsyncEngine, book: Book, stop: asyncio.Event) -> None:
    """Reads the stored status of the commitments with unseen writes straight from PostgreSQL (what the API
    serves: it caches nothing), so that measuring does not load the API."""
    c = Commitment.__table__.c
    while not stop.is_set():
        pending = [uuid.UUID(k) for k, v in book.unseen.items() if v]
        if pending:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(select(c.id, c.schedule, c.evaluated_at).where(c.id.in_(pending)))
                ).all()
            observe(
                book,
                [
                    {
                        "id": str(r.id),
                        "schedule": r.schedule,
                        "evaluated_at": r.evaluated_at.isoformat() if r.evaluated_at else None,
                    }
                    for r in rows
                ],
                time.time(),
            )
        await asyncio.sleep(POLL)


async def listing(client: httpx.AsyncClient) -> list[list[dict]]:
    """Every commitment, page by page (one list per page)."""
    pages, cursor = [], None
    while True:
        try:
            r = await client.get(
                "/v1/commitments", params={"limit": 500, **({"cursor": cursor} if cursor else {})}
            )
        except httpx.HTTPError:
            continue
        body = r.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return pages


async def idle(redis: aioredis.Redis) -> bool:
    """No job queued or running (a job key lives until its job ended) and none marked to run again."""
    return not await redis.keys("arq:job:*") and not await redis.keys("nakoming:rerun:*")


async def run(args: argparse.Namespace) -> dict[str, object]:
    ids, key = await prepare(args.commitments)
    redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
    procs = [
        subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(args.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
    ]
    try:
        time.sleep(0.5)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", "--port", str(args.port)],
                cwd=ROOT,
                env=env(redis_url),
            )
        )
        procs.append(
            subprocess.Popen([sys.executable, "-m", "services.cli", "worker"], cwd=ROOT, env=env(redis_url))
        )
        base = f"http://127.0.0.1:{args.port}"
        await wait_http(base, procs[1])
        redis = aioredis.from_url(redis_url)
        while not await redis.exists("arq:queue:health-check"):
            await asyncio.sleep(0.1)
        book, stop = Book(), asyncio.Event()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            engine = create_engine(DB_URL, pool_size=2)
            reading = asyncio.create_task(reader(engine, book, stop))
            began = time.monotonic()
            await writer(client, ids, key, book, args.rate, args.duration)
            elapsed = time.monotonic() - began
            deadline = time.monotonic() + 600
            while not await idle(redis) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(3 * POLL)
            stop.set()
            await reading
            await engine.dispose()
            final = {i["id"]: i for page in await listing(client) for i in page}
        await redis.aclose()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(20)
    ok = [w for w in book.writes if w.status == 200]
    latencies = sorted(w.seen - w.answered for w in ok if w.seen is not None and w.seen > 0)
    # The effect of the writes at the end: each commitment's schedule must be the one of the due date its last
    # committed write left (read back from the same listing; writes answered or not, in whatever order they
    # committed).
    expected = {d: k for k, d in DATES.items()}
    missing = [
        c for c, item in final.items() if item["due_date"] and item["schedule"] != expected[item["due_date"]]
    ]
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    statuses: dict[int, int] = {}
    for w in book.writes:
        statuses[w.status] = statuses.get(w.status, 0) + 1
    return {
        "writes": len(book.writes),
        "answers (status: count; -1 = connection error)": statuses,
        "answered_200": len(ok),
        "achieved_rate": round(len(book.writes) / elapsed, 1),
        "seen": len(latencies),
        "overtaken": sum(1 for w in ok if w.seen == -1.0),
        "never_seen": sum(1 for w in ok if w.seen is None),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "commitments": len(final),
        "commitments_missing_last_write": len(missing),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--commitments", type=int, default=1000)
    parser.add_argument("--port", type=int, default=18190)
    parser.add_argument("--redis-port", type=int, default=18191)
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    result = asyncio.run(run(args))
    for name, value in result.items():
        print(f"{name:32} {value}")


if __name__ == "__main__":
    main()
