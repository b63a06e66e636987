"""bench/prov: what provenance costs the commitment list's read path (PostgreSQL, raw asyncpg, in-process).

    python3 -m uv run python bench/prov/run.py [--calls 400] [--root DIR]

`--root` runs the same measurement against another checkout of the code (e.g. `git archive <base> | tar -x -C
/tmp/base`), so a before/after pair comes from one script. Figures are CPU milliseconds of this process per page
of 50 (time.process_time(), median of 5 batches), which the machine's load disturbs less than wall time; the
wall-clock median is given beside it. Needs PostgreSQL at BENCH_DATABASE_URL
(default postgresql+asyncpg://postgres@127.0.0.1:5432/bench_prov; dropped and rebuilt).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--calls", type=int, default=400)
parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
ARGS = parser.parse_args()
sys.path.insert(0, ARGS.root)

import orjson  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bench.common import fresh_database  # noqa: E402
from shared.commitments.models import Commitment  # noqa: E402
from shared.commitments.repository import CommitmentRepository  # noqa: E402
from shared.commitments.schemas import CommitmentFilters  # noqa: E402
from shared.commitments.service import CommitmentService  # noqa: E402
from shared.pg import RawPool  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_prov")
N = 10_000
WITH_PROVENANCE = hasattr(Commitment, "created_by_name")


async def prepare() -> None:
    engine = await fresh_database(DB_URL)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(N):
        row = {
            "id": uuid.uuid4(),
            "title": f"Toezegging {i}",
            "description": "Beschrijving " * 10,
            "origin": "letter",
            "version": 1,
            "created_at": now - dt.timedelta(seconds=i),
            "updated_at": now,
        }
        if WITH_PROVENANCE:  # every row names its writer; every other row a responsible person
            person = f"Persoon {i % 50}" if i % 2 else None
            row.update(
                created_by_name="frontend",
                updated_by_name="frontend",
                owner_person_name=person,
                owner_person_role="programmamanager" if person else None,
                owner_person_key=person.lower() if person else None,
            )
        rows.append(row)
    async with engine.begin() as conn:
        await conn.execute(insert(Commitment), rows)
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(pool: RawPool, params: CommitmentFilters) -> tuple[float, float]:
    conditions = CommitmentService.conditions(params)
    cpu, wall = [], []
    for _ in range(5):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(ARGS.calls // 5):
            rows, cursor = await CommitmentRepository.list_page(
                pool, conditions, sort=None, cursor=None, limit=50
            )
            orjson.dumps({"items": rows, "next_cursor": cursor}, default=str)
        cpu.append((time.process_time() - c0) * 1000 / (ARGS.calls // 5))
        wall.append((time.perf_counter() - w0) * 1000 / (ARGS.calls // 5))
    return statistics.median(cpu), statistics.median(wall)


async def main() -> None:
    await prepare()
    pool = await RawPool.open(DB_URL, 2)
    try:
        cases = {"unfiltered": CommitmentFilters()}
        if WITH_PROVENANCE:
            cases["owner_person=persoon 7"] = CommitmentFilters(owner_person="persoon 7")
        await measure(pool, cases["unfiltered"])  # warm-up: shapes compiled, plans cached
        results = {name: await measure(pool, params) for name, params in cases.items()}
    finally:
        await pool.close()
    print(
        json.dumps(
            {
                "root": ARGS.root,
                "provenance": WITH_PROVENANCE,
                "load": os.getloadavg(),
                "cpu_ms_wall_ms": results,
            }
        )
    )


asyncio.run(main())
