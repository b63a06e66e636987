"""Benchmark of the status engine on PostgreSQL (loopback): full recalculation and single commitments.

    python3 -m uv run python bench/status/run.py [--scale 1.0] [--rounds 3] [--url URL] [--reuse]

Builds 100,000 commitments, 300,000 milestones, 1,000,000 measurements, 100,000 actions and 500,000 client
signals (times --scale) in database bench_status (created if missing; its public schema is rebuilt), then
measures, `rounds` times each:
  full/first   every commitment evaluated and written (statuses and history reset before each round)
  full/again   every commitment evaluated, nothing changed (only evaluated_at is stamped)
  single       200 random commitments, one transaction each (as the job does): p50 and p95
Targets (issue #4): full <= 30 s, single <= 50 ms p95.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from bench.common import backend_pids, cpu_model, cpu_seconds
from shared.db import create_engine, create_session_factory, session_scope
from shared.migrate import upgrade
from shared.status.inputs import Thresholds
from shared.status.runner import recalculate_all
from shared.status.service import StatusService

AS_OF = dt.date(2026, 11, 23)
THEMES = [f"thema-{i:02d}" for i in range(20)]


def _uuids(n: int, rng: random.Random) -> list[uuid.UUID]:
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]


async def build(url: str, scale: float, rng: random.Random) -> list[uuid.UUID]:
    admin = await asyncpg.connect(
        url.replace("postgresql+asyncpg", "postgresql").rsplit("/", 1)[0] + "/postgres"
    )
    name = url.rsplit("/", 1)[1]
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    engine = create_engine(url)
    async with engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    await engine.dispose()

    n_commitments = int(100_000 * scale)
    n_milestones = 3 * n_commitments
    n_signals = int(500_000 * scale)
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    await conn.copy_records_to_table(
        "themes",
        columns=["key", "label_nl", "label_en", "created_at", "updated_at"],
        records=[(t, t, t, now, now) for t in THEMES],
    )
    parties = _uuids(500, rng)
    await conn.copy_records_to_table(
        "parties",
        columns=["id", "name", "kind", "version", "created_at", "updated_at"],
        records=[(p, f"Aanbieder {i}", "provider", 1, now, now) for i, p in enumerate(parties)],
    )
    commitments = _uuids(n_commitments, rng)
    await conn.copy_records_to_table(
        "commitments",
        columns=[
            "id",
            "title",
            "origin",
            "version",
            "created_at",
            "updated_at",
            "due_date",
            "owner_party_id",
        ],
        records=[
            (
                c,
                f"Toezegging {i}",
                "other",
                1,
                now,
                now,
                AS_OF + dt.timedelta(days=rng.randint(-400, 700)) if rng.random() < 0.8 else None,
                rng.choice(parties) if rng.random() < 0.5 else None,
            )
            for i, c in enumerate(commitments)
        ],
    )
    theme_rows = []
    for c in commitments:
        for t in rng.sample(THEMES, rng.randint(1, 2)):
            theme_rows.append((c, t))
    await conn.copy_records_to_table(
        "commitment_themes", columns=["commitment_id", "theme_key"], records=theme_rows
    )
    states = ["planned", "in_progress", "in_progress", "done", "blocked", "cancelled"]
    await conn.copy_records_to_table(
        "actions",
        columns=[
            "id",
            "title",
            "commitment_id",
            "state",
            "last_update_date",
            "version",
            "created_at",
            "updated_at",
        ],
        records=[
            (a, "Actie", c, rng.choice(states), AS_OF - dt.timedelta(days=rng.randint(0, 200)), 1, now, now)
            for a, c in zip(_uuids(n_commitments, rng), commitments)
        ],
    )
    milestones = _uuids(n_milestones, rng)
    milestone_rows = []
    for i, m in enumerate(milestones):
        base_date = AS_OF - dt.timedelta(days=rng.randint(200, 600))
        milestone_rows.append(
            (
                m,
                "Mijlpaal",
                commitments[i // 3],
                AS_OF + dt.timedelta(days=rng.randint(-300, 500)),
                100.0,
                40.0,
                base_date,
                "increase",
                "percent",
                1,
                now,
                now,
            )
        )
    await conn.copy_records_to_table(
        "milestones",
        columns=[
            "id",
            "title",
            "commitment_id",
            "due_date",
            "target_value",
            "baseline_value",
            "baseline_date",
            "direction",
            "indicator_unit",
            "version",
            "created_at",
            "updated_at",
        ],
        records=milestone_rows,
    )
    measurement_rows = []
    per = int(1_000_000 * scale) / n_milestones
    for m, _, _, _due, _, _, base_date, *_ in milestone_rows:
        count = int(per) + (1 if rng.random() < per - int(per) else 0)
        days = sorted(rng.sample(range(1, 400), count))
        slope = rng.uniform(0.02, 0.2)
        for d in days:
            measurement_rows.append(
                (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    m,
                    base_date + dt.timedelta(days=d),
                    40.0 + slope * d + rng.uniform(-3, 3),
                    now,
                    now,
                )
            )
    await conn.copy_records_to_table(
        "measurements",
        columns=["id", "milestone_id", "date", "value", "created_at", "updated_at"],
        records=measurement_rows,
    )
    signals = _uuids(n_signals, rng)
    signal_rows, signal_theme_rows, signal_link_rows = [], [], []
    for i, s in enumerate(signals):
        received = AS_OF - dt.timedelta(days=rng.randint(0, 730))
        signal_rows.append(
            (
                s,
                "bench",
                str(i),
                "klacht",
                received,
                rng.choice(parties),
                received + dt.timedelta(days=3650),
                False,
                "ontvangen",
                False,
                now,
                now,
            )
        )
        for t in rng.sample(THEMES, rng.randint(1, 2)):
            signal_theme_rows.append((s, t, received))
        if rng.random() < 0.05:
            signal_link_rows.append((s, rng.choice(commitments)))
    await conn.copy_records_to_table(
        "client_signals",
        columns=[
            "id",
            "source_system",
            "external_id",
            "kind",
            "received_date",
            "provider_party_id",
            "retention_date",
            "anonymous",
            "status",
            "extension_recorded",
            "created_at",
            "updated_at",
        ],
        records=signal_rows,
    )
    await conn.copy_records_to_table(
        "client_signal_themes", columns=["signal_id", "theme_key", "received_date"], records=signal_theme_rows
    )
    await conn.copy_records_to_table(
        "client_signal_commitments", columns=["signal_id", "commitment_id"], records=signal_link_rows
    )
    await conn.execute("ANALYZE")
    counts = {
        t: await conn.fetchval(f"SELECT count(*) FROM {t}")
        for t in ("commitments", "milestones", "measurements", "actions", "client_signals")
    }
    print("dataset:", ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    await conn.close()
    return commitments


async def reset(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    await conn.execute("TRUNCATE status_history")
    await conn.execute("UPDATE commitments SET status = 'open', schedule = 'no_deadline', reasons = NULL")
    await conn.execute("UPDATE milestones SET status = 'pending'")
    await conn.execute("VACUUM ANALYZE commitments")
    await conn.execute("VACUUM ANALYZE milestones")
    await conn.close()


async def measure(
    url: str, commitments: list[uuid.UUID], rounds: int, batch: int, rng: random.Random
) -> dict[str, list[float]]:
    thresholds = Thresholds()
    engine = create_engine(url, pool_size=5)
    factory = create_session_factory(engine)
    results: dict[str, list[float]] = {
        "full/first": [],
        "full/again": [],
        "single p50": [],
        "single p95": [],
        "full/first cpu": [],
        "full/again cpu": [],
    }
    database = url.rsplit("/", 1)[1]
    async with (
        engine.connect() as conn
    ):  # open the pool's connections, so their server processes can be counted
        await conn.exec_driver_sql("SELECT 1")
    for r in range(rounds):
        await reset(url)
        for name in ("full/first", "full/again"):
            # CPU seconds of this process and of the database's server processes: steadier than wall time on a
            # shared machine (the run is only fast when both fit on the two cores at once).
            pids = backend_pids(database)
            cpu_before = cpu_seconds([os.getpid()]), cpu_seconds(pids)
            start = time.perf_counter()
            summary = await recalculate_all(factory, thresholds, as_of=AS_OF, batch_size=batch)
            results[name].append(time.perf_counter() - start)
            pids = sorted(set(pids) | set(backend_pids(database)))
            ours, server = cpu_seconds([os.getpid()]) - cpu_before[0], cpu_seconds(pids) - cpu_before[1]
            results[f"{name} cpu"].append(ours + server)
            print(
                f"round {r + 1}: {name} {results[name][-1]:.1f} s (cpu: this process {ours:.1f} s, database "
                f"{server:.1f} s; load {os.getloadavg()[0]:.1f}) {summary.as_dict()}",
                flush=True,
            )
        timings = []
        for cid in rng.sample(commitments, 200):
            start = time.perf_counter()
            async with session_scope(factory) as session:
                await StatusService(session, thresholds).recalculate([cid], AS_OF)
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        results["single p50"].append(statistics.median(timings))
        results["single p95"].append(timings[int(len(timings) * 0.95) - 1])
        print(
            f"round {r + 1}: single p50 {results['single p50'][-1]:.1f} ms p95 {results['single p95'][-1]:.1f} ms",
            flush=True,
        )
    await engine.dispose()
    return results


def machine() -> str:
    return f"nproc {os.cpu_count()}, {platform.machine()}, {cpu_model()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_status"
        ),
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="measure the dataset built by an earlier run")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    async def run() -> dict[str, list[float]]:
        start = time.perf_counter()
        if args.reuse:
            conn = await asyncpg.connect(args.url.replace("postgresql+asyncpg", "postgresql"))
            commitments = [r["id"] for r in await conn.fetch("SELECT id FROM commitments ORDER BY id")]
            await conn.close()
            print(f"reusing {len(commitments):,} commitments", flush=True)
        else:
            commitments = await build(args.url, args.scale, rng)
            print(f"built in {time.perf_counter() - start:.0f} s", flush=True)
        return await measure(args.url, commitments, args.rounds, args.batch, rng)

    results = asyncio.run(run())
    targets = {"full/first": 30.0, "full/again": 30.0, "single p50": 50.0, "single p95": 50.0}
    units = {"full/first": "s", "full/again": "s", "single p50": "ms", "single p95": "ms"}
    print(f"\n{machine()}, {dt.date.today().isoformat()}, scale {args.scale}, batch {args.batch}")
    print(f"{'measure':<12} {'median':>9} {'min':>9} {'max':>9} {'target':>8} {'ratio':>7}")
    for name, values in results.items():
        med = statistics.median(values)
        if name not in targets:  # CPU seconds (this process + the database), no target of their own
            print(f"{name:<12} {med:>7.2f} s {min(values):>7.2f} s {max(values):>7.2f} s")
            continue
        print(
            f"{name:<12} {med:>7.2f}{units[name]:>2} {min(values):>7.2f}{units[name]:>2} "
            f"{max(values):>7.2f}{units[name]:>2} {targets[name]:>6.0f}{units[name]:>2} {med / targets[name]:>7.2f}"
        )


if __name__ == "__main__":
    main()
