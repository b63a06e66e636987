"""Benchmark of the change feed and webhooks on PostgreSQL (loopback), database bench_events (rebuilt).

    python3 -m uv run python bench/events/run.py [--events 1000000] [--pages 300] [--hooks 10] [--fan 1000]

  writes   status changes stored with their events: StatusService.store of batches of 1,000 commitments whose
           status changed (one transaction each, as a full run stores them), changes per second
  fan-out  `--fan` events x `--hooks` webhooks = deliveries to a local receiver (uvicorn, loopback): seconds from
           the fan-out job's start until the receiver counted them all (the delivery jobs run side by side, as
           arq runs one per webhook)
  feed     GET /v1/events, pages of 500 through the app (ASGI, in-process) with `--events` events stored: p50/p99
           of single requests at random positions, unfiltered and with `types=` (one type of five)
Targets (issue #12): 1,000 changes/s; 10,000 deliveries <= 30 s; feed p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import fresh_database
from shared.db import create_session_factory, session_scope
from shared.events.repository import START, EventRepository
from shared.events.service import EventType, NewEvent, emit_many
from shared.settings import Settings
from shared.status.inputs import Thresholds
from shared.status.service import Changes, StatusService
from shared.webhooks.delivery import Delivering, deliver, fan_out
from shared.webhooks.models import Webhook
from shared.webhooks.signing import new_secret

TYPES = [
    "commitment.status_changed",
    "commitment.updated",
    "milestone.status_changed",
    "commitment.created",
    "fulfilment.recorded",
]


def raw(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def writes(url: str, engine: object, batches: int) -> float:
    """Changes per second: batches of 1,000 status changes with their events, each batch one transaction."""
    conn = await asyncpg.connect(raw(url))
    ids = [uuid.uuid4() for _ in range(batches * 1000)]
    now = dt.datetime.now(dt.UTC)
    await conn.copy_records_to_table(
        "commitments",
        columns=[
            "id",
            "title",
            "origin",
            "version",
            "created_at",
            "updated_at",
            "status",
            "schedule",
            "reasons_digest",
        ],
        records=[(c, "Toezegging", "other", 1, now, now, "open", "no_deadline", "d0") for c in ids],
    )
    await conn.close()
    factory = create_session_factory(engine)
    service_of = lambda s: StatusService(s, Thresholds())  # noqa: E731
    elapsed = 0.0
    for b in range(batches):
        chunk = ids[b * 1000 : (b + 1) * 1000]
        changes = Changes()
        for cid in chunk:
            changes.commitments.append(
                {
                    "b_id": cid,
                    "b_status": "at_risk",
                    "b_schedule": "late",
                    "b_source_status": None,
                    "b_reasons": '[{"rule": "milestone"}]',
                    "b_digest": "d1",
                    "b_old_digest": "d0",
                    "b_at": now,
                    "b_version": "bench",
                    "b_history": True,
                }
            )
            changes.events[cid] = NewEvent(
                EventType.commitment_status_changed,
                f"/v1/commitments/{cid}",
                {
                    "commitment_id": str(cid),
                    "old_status": "open",
                    "new_status": "at_risk",
                    "old_schedule": "no_deadline",
                    "new_schedule": "late",
                    "rules": ["milestone"],
                },
            )
        start = time.perf_counter()
        async with session_scope(factory) as session:
            await service_of(session).store(changes, now.date(), now)
        elapsed += time.perf_counter() - start
    conn = await asyncpg.connect(raw(url))
    stored = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'commitment.status_changed'")
    await conn.close()
    assert stored == batches * 1000, stored
    return batches * 1000 / elapsed


async def fanout(url: str, engine: object, hooks: int, events: int, port: int) -> tuple[float, int]:
    factory = create_session_factory(engine)
    async with session_scope(factory) as session:
        for _ in range(hooks):
            session.add(
                Webhook(
                    url=f"http://127.0.0.1:{port}/hook",
                    event_types=[],
                    secret=new_secret(),
                    enabled=True,
                    signals=False,
                )
            )
    await asyncio.sleep(0.01)
    async with session_scope(factory) as session:  # events after the webhooks' creation
        await emit_many(
            session,
            [
                NewEvent(
                    EventType.commitment_updated, f"/v1/commitments/{uuid.uuid4()}", {"fields": ["title"]}
                )
                for _ in range(events)
            ],
        )
    settings = Settings(_env_file=None, webhook_allow_private=True)  # type: ignore[call-arg]
    how = Delivering.of({"settings": settings})
    # On a shared cluster the feed serves an event only once every older writing transaction (of any database)
    # has ended: that wait is measured apart from the fan-out itself.
    waited = time.perf_counter()
    async with factory() as reader:
        while (
            len(await EventRepository(reader).after(START, limit=events + 1, types=["commitment.updated"]))
            < events
        ):
            await reader.rollback()
            await asyncio.sleep(0.05)
    print(
        f"fan-out: the feed served the {events:,} events after {time.perf_counter() - waited:.1f} s",
        flush=True,
    )
    start, cpu = time.perf_counter(), time.process_time()
    outcome = await fan_out(factory)
    made = outcome.made
    await asyncio.gather(
        *(deliver(factory, how, uuid.UUID(job.kwargs["webhook_id"])) for job in outcome.jobs)
    )
    elapsed = time.perf_counter() - start
    print(f"fan-out: this process used {time.process_time() - cpu:.1f} s of CPU", flush=True)
    async with httpx.AsyncClient() as client:
        received = int((await client.get(f"http://127.0.0.1:{port}/count")).text)
    assert received >= made == hooks * events, (received, made)
    return elapsed, made


async def fill(url: str, n: int) -> None:
    """n events spread over the transaction ids already used (a made-up txid above the server's counter would
    never count as finished), in id order, five types."""
    conn = await asyncpg.connect(raw(url))
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(12)
    top = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint") - 1
    step = 100_000
    for start in range(0, n, step):
        rows = [
            (
                (start + i) * top // n,
                TYPES[rng.randrange(5)],
                now,
                f"/v1/commitments/{uuid.uuid4()}",
                '{"commitment_id": "x", "old_status": "open", "new_status": "at_risk"}',
                "public",
                None,
            )
            for i in range(min(step, n - start))
        ]
        await conn.copy_records_to_table(
            "events",
            columns=["txid", "type", "at", "subject", "payload", "audience", "party_id"],
            records=rows,
        )
    await conn.execute("VACUUM ANALYZE events")
    await conn.close()


async def feed(url: str, pages: int) -> dict[str, tuple[float, float]]:
    from asgi_lifespan import LifespanManager

    from services.api.app import create_app
    from shared.logging import configure_logging

    settings = Settings(
        _env_file=None,
        database_url=url,
        job_backend="inprocess",
        log_json=False,  # type: ignore[call-arg]
        log_level="WARNING",
        rate_limit_per_minute=10**9,
    )
    app = create_app(settings)
    configure_logging("WARNING", json=False)
    conn = await asyncpg.connect(raw(url))
    positions = [
        f"{r['txid']}_{r['id']}"
        for r in await conn.fetch(
            "SELECT txid, id FROM events WHERE txid < (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY txid) "
            "FROM events) ORDER BY random() LIMIT $1",
            pages,
        )
    ]
    await conn.close()
    out = {}
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client,
    ):
        for name, extra in (("unfiltered", {}), ("types=", {"types": "milestone.status_changed"})):
            timings = []
            for _i, position in enumerate(positions):
                start = time.perf_counter()
                r = await client.get("/v1/events", params={"after": position, "limit": 500, **extra})
                timings.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and len(r.json()["items"]) == 500, r.text[:300]
            timings = sorted(timings[5:])  # the first requests warm the caches
            out[name] = (statistics.median(timings), timings[int(len(timings) * 0.99) - 1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_events"
        ),
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--hooks", type=int, default=10)
    parser.add_argument("--fan", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--port", type=int, default=18193)
    args = parser.parse_args()

    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.events.receiver:app",
            "--port",
            str(args.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=Path(__file__).resolve().parents[2],
    )

    async def run() -> None:
        engine = await fresh_database(args.url)
        try:
            print(f"load {os.getloadavg()}", flush=True)
            rate = await writes(args.url, engine, args.batches)
            print(
                f"writes: {rate:,.0f} status changes/s with their events (target 1,000); load "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
            elapsed, made = await fanout(args.url, engine, args.hooks, args.fan, args.port)
            print(
                f"fan-out: {made:,} deliveries in {elapsed:.1f} s (target 30 s); load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            await fill(args.url, args.events)
            for name, (p50, p99) in (await feed(args.url, args.pages)).items():
                print(
                    f"feed {name}: pages of 500, p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 50 ms) with "
                    f"{args.events:,} events; load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        finally:
            await engine.dispose()  # type: ignore[attr-defined]

    try:
        time.sleep(1.5)
        asyncio.run(run())
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
