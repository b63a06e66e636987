"""Where a full recalculation spends its time, phase by phase, on the bench_status database (built by run.py).

    python3 -m uv run python bench/status/phases.py [--batches 2] [--cprofile evaluate|load|store] [--store]

Times, for the first `batches` batches of 10,000 commitments: the signal index (once), each load query,
building the inputs, evaluating, and (with --store) storing, rolled back so the dataset stays as it is.
CPU seconds of this process are shown beside wall seconds: on a shared machine the CPU figure is the steadier one.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select

from bench.status.run import AS_OF
from shared.commitments.models import Commitment
from shared.db import create_engine, create_session_factory, utcnow
from shared.status import loaders
from shared.status.inputs import Thresholds
from shared.status.loaders_signals import build_signal_index
from shared.status.runner import fewer_collections
from shared.status.service import Outcome, StatusService


class Clock:
    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        print(
            f"  {self.label:<28} wall {time.perf_counter() - self.wall:7.2f} s   cpu {time.process_time() - self.cpu:7.2f} s",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_status"
        ),
    )
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--cprofile", choices=["evaluate", "load", "store", ""], default="")
    parser.add_argument("--store", action="store_true")
    args = parser.parse_args()
    thresholds = Thresholds()
    engine = create_engine(args.url, pool_size=2)
    factory = create_session_factory(engine)
    profiler = cProfile.Profile() if args.cprofile else None
    with fewer_collections():
        async with factory() as session:
            with Clock("signal index"):
                signals = await build_signal_index(session, AS_OF, thresholds)
            await session.rollback()
        last = None
        for n in range(args.batches):
            print(f"batch {n + 1}", flush=True)
            async with factory() as session:
                query = select(Commitment.id).order_by(Commitment.id).offset(args.batch - 1).limit(1)
                if last is not None:
                    query = query.where(Commitment.id > last)
                upper = (await session.execute(query)).scalar()
                raw = await loaders.driver_connection(session)
                statements = loaders._PG_BY_RANGE if last is not None else loaders._PG_FROM_START
                for name, sql in zip(
                    ("commitments", "milestones", "actions", "overrides", "fulfilments"), statements
                ):
                    params = (last, upper, AS_OF) if name == "milestones" else (last, upper)
                    with Clock(f"query {name}"):
                        rows = await raw.fetch(sql, *params)
                    print(f"    {len(rows)} rows")
                with Clock("load (all)"):
                    if profiler and args.cprofile == "load":
                        profiler.enable()
                    batch = await loaders.load_batch(
                        session, None, AS_OF, thresholds, signals=signals, id_range=(last, upper)
                    )
                    if profiler and args.cprofile == "load":
                        profiler.disable()
                service = StatusService(session, thresholds)
                outcome = Outcome(AS_OF, utcnow())
                with Clock("evaluate"):
                    if profiler and args.cprofile == "evaluate":
                        profiler.enable()
                    changes = await service.evaluate(batch, outcome)
                    if profiler and args.cprofile == "evaluate":
                        profiler.disable()
                print(
                    f"  changes: {len(changes.commitments)} commitments, {len(changes.milestones)} milestones"
                )
                if args.store:
                    with Clock("store (rolled back)"):
                        if profiler and args.cprofile == "store":
                            profiler.enable()
                        await service.store(changes, AS_OF, utcnow())
                        if profiler and args.cprofile == "store":
                            profiler.disable()
                await session.rollback()
                last = upper
    await engine.dispose()
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)


if __name__ == "__main__":
    asyncio.run(main())
