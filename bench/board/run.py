"""bench/board: server-side render time of the status board on one process.

    python3 -m uv run python bench/board/run.py [--requests 300] [--rounds 3] [--reuse]

PostgreSQL at BENCH_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/bench_board; dropped
and recreated unless --reuse): the seed dataset plus 10,000 commitments (owners, themes, due dates spread over
two years, a third with a milestone so the engine finds real reasons), every status evaluated by the engine,
and one commitment with 4 numeric milestones of 50 measurements each. Each request goes through the real app
(create_app, raw asyncpg fast path on) in this process over ASGI, so the time is the server's: routing, the
board's reads (the /v1 routes' own functions, in-process), the counts, templates and SVG. Targets: overview <= 150 ms p95, the
commitment page with 4 charts and 200 measurements <= 50 ms p95. `cpu ms` is this process's CPU per request
(the database's own CPU not included), which stays readable when the shared machine is busy.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database  # noqa: E402
from shared.commitments.models import Commitment, commitment_themes  # noqa: E402
from shared.db import create_session_factory  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.milestones.models import Measurement, Milestone  # noqa: E402
from shared.parties.models import Party  # noqa: E402
from shared.seed.loader import load_dataset  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.status.inputs import Thresholds  # noqa: E402
from shared.status.runner import recalculate_all  # noqa: E402
from shared.themes.models import Theme  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_board")
N = 10_000
CHART_KEY = "bench-board-four-charts"


async def prepare() -> None:
    engine = await fresh_database(DB_URL)
    factory = create_session_factory(engine)
    async with factory() as session:
        await load_dataset(session)
        await session.commit()
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    async with engine.begin() as conn:
        parties = [r[0] for r in (await conn.execute(select(Party.id))).all()]
        themes = [r[0] for r in (await conn.execute(select(Theme.key))).all()]
        rows, links, milestones = [], [], []
        for i in range(N):
            cid = uuid.uuid4()
            rows.append(
                {
                    "id": cid,
                    "title": f"Toezegging {i}: opvolging van aanbeveling {i % 97}",
                    "description": "Beschrijving " * 10,
                    "origin": "letter",
                    "version": 1,
                    "owner_party_id": parties[i % len(parties)],
                    "due_date": today + dt.timedelta(days=(i % 730) - 365) if i % 4 else None,
                    "created_at": now - dt.timedelta(seconds=i),
                    "updated_at": now,
                }
            )
            links.append({"commitment_id": cid, "theme_key": themes[i % len(themes)]})
            if i % 3 == 0:
                milestones.append(
                    {
                        "id": uuid.uuid4(),
                        "commitment_id": cid,
                        "title": f"Mijlpaal {i}",
                        "version": 1,
                        "due_date": today + dt.timedelta(days=(i % 400) - 200),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        await conn.execute(insert(Commitment), rows)
        await conn.execute(insert(commitment_themes), links)
        await conn.execute(insert(Milestone), milestones)
        # The commitment page case: 4 numeric milestones, 50 measurements each, dated baselines.
        cid = uuid.uuid4()
        await conn.execute(
            insert(Commitment),
            [
                {
                    "id": cid,
                    "key": CHART_KEY,
                    "title": "Vier meetbare mijlpalen",
                    "origin": "letter",
                    "version": 1,
                    "owner_party_id": parties[0],
                    "due_date": today + dt.timedelta(days=180),
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        await conn.execute(insert(commitment_themes), [{"commitment_id": cid, "theme_key": themes[0]}])
        measurements = []
        for m in range(4):
            mid = uuid.uuid4()
            await conn.execute(
                insert(Milestone),
                [
                    {
                        "id": mid,
                        "commitment_id": cid,
                        "title": f"Indicator {m + 1}",
                        "version": 1,
                        "due_date": today + dt.timedelta(days=90 + 30 * m),
                        "indicator_unit": "procent",
                        "baseline_value": 20.0 + m,
                        "baseline_date": today - dt.timedelta(days=400),
                        "target_value": 90.0,
                        "direction": "increase",
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            measurements += [
                {
                    "id": uuid.uuid4(),
                    "milestone_id": mid,
                    "date": today - dt.timedelta(days=7 * k + 1),
                    "value": 80.0 - k * 1.1 + m,
                    "created_at": now,
                }
                for k in range(50)
            ]
        await conn.execute(insert(Measurement), measurements)
    summary = await recalculate_all(factory, Thresholds())
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    print(f"prepared: {summary.as_dict()}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(requests: int, rounds: int) -> None:
    configure_logging("WARNING", json=False)
    settings = Settings(database_url=DB_URL, job_backend="inprocess", log_level="WARNING", _env_file=None)  # type: ignore[call-arg]
    from services.api.app import create_app

    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client,
    ):
        page = (await client.get("/v1/commitments", params={"q": "Vier meetbare", "limit": 1})).json()
        chart_id = page["items"][0]["id"]
        cases = {
            "overview /board": "/board",
            "overview, theme filter": "/board?theme=" + page["items"][0]["themes"][0],
            "overview ?lang=en": "/board?lang=en",
            "commitment, 4 charts x 50": f"/board/commitments/{chart_id}",
        }
        rendered = (await client.get(cases["commitment, 4 charts x 50"])).text
        assert rendered.count('class="point measurement"') == 200, (
            "the commitment page must draw 200 measurements"
        )
        print(f"{'case':32} {'round':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu ms':>8}")
        for name, url in cases.items():
            for r in range(rounds):
                for _ in range(20):  # warm-up
                    await client.get(url)
                times = []
                cpu = time.process_time()
                for _ in range(requests):
                    start = time.perf_counter()
                    response = await client.get(url)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200
                cpu_ms = (time.process_time() - cpu) * 1000 / requests
                print(
                    f"{name:32} {r + 1:>5} {statistics.median(times):8.1f} {percentile(times, 0.95):8.1f} "
                    f"{percentile(times, 0.99):8.1f} {cpu_ms:8.1f}"
                )
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"{platform.processor() or platform.platform()}; "
        f"load average {os.getloadavg()[0]:.2f}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the database from the last run")
    args = parser.parse_args()
    if not args.reuse:
        asyncio.run(prepare())
    asyncio.run(measure(args.requests, args.rounds))


if __name__ == "__main__":
    main()
