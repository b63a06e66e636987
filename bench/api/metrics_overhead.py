"""bench/api/metrics_overhead: what the request metrics cost. The bench/api load (GET /v1/commitments?limit=50,
10,000 rows, PostgreSQL, wrk -c50, one uvicorn process) against this tree and against an earlier revision
(default: the commit before metrics and tracing existed), alternating round by round in one run.

    python3 -m uv run python bench/api/metrics_overhead.py [--before 84e3f13] [--rounds 3] [--duration 12]

The earlier revision is exported with `git archive` into a temporary directory and served by the same Python
environment. Tracing stays off (its default). Also prints the in-process cost of one `observe_request` call.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.api.run import DB_URL, api_command, free_port, prepare, start, wrk  # noqa: E402
from bench.common import cpu_seconds, machine  # noqa: E402


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def observe_cost(calls: int = 200_000) -> float:
    """Microseconds of CPU per observe_request call (the labelled child already cached, as in steady state)."""
    from services.api.metrics import observe_request

    class Route:
        path_format = "/v1/commitments"

    scope = {"method": "GET", "route": Route()}
    observe_request(scope, 200, 0.001)
    started = time.process_time()
    for _ in range(calls):
        observe_request(scope, 200, 0.001)
    return (time.process_time() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="84e3f13")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(prepare())
    env = {
        "NAKOMING_DATABASE_URL": DB_URL,
        "NAKOMING_JOB_BACKEND": "inprocess",
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_ENVIRONMENT": "development",
    }
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": export(args.before, Path(tmp)), "after": ROOT}
        ports = {name: free_port() for name in trees}
        procs = {
            name: start(
                api_command(ports[name]),
                env,
                ports[name],
                cwd=tree,
            )
            for name, tree in trees.items()
        }
        urls = {name: f"http://127.0.0.1:{port}/v1/commitments?limit=50" for name, port in ports.items()}
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
        loads = []
        try:
            for url in urls.values():
                wrk(url, 3)
            for _ in range(args.rounds):
                for name in trees:
                    before = cpu_seconds([procs[name].pid])
                    rps, p99 = wrk(urls[name], args.duration)
                    results[name].append(
                        (rps, p99, (cpu_seconds([procs[name].pid]) - before) / (rps * args.duration) * 1000)
                    )
                    loads.append(os.getloadavg()[0])
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait()
    ratios = [a[0] / b[0] for a, b in zip(results["after"], results["before"], strict=True)]
    cpu_ratios = [a[2] / b[2] for a, b in zip(results["after"], results["before"], strict=True)]
    print(
        f"machine: {machine()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{args.rounds} rounds x {args.duration}s, wrk -t2 -c50; load average during the rounds "
        f"{min(loads):.1f}-{max(loads):.1f}"
    )
    print("| tree | requests/s (median) | p99 ms (median) | app CPU ms per request (median) |")
    print("|---|---|---|---|")
    for name in ("before", "after"):
        rows = results[name]
        print(
            f"| {name} ({args.before if name == 'before' else 'this tree'}) | "
            f"{statistics.median(r[0] for r in rows):.0f} | {statistics.median(r[1] for r in rows):.1f} | "
            f"{statistics.median(r[2] for r in rows):.2f} |"
        )
    print(
        f"| after / before (median of per-round ratios) | {statistics.median(ratios):.2f} | | "
        f"{statistics.median(cpu_ratios):.2f} |"
    )
    print(
        "per round (req/s, p99 ms, CPU ms):",
        {k: [tuple(round(x, 2) for x in r) for r in v] for k, v in results.items()},
    )
    print(f"observe_request: {observe_cost():.2f} us CPU per call")


if __name__ == "__main__":
    main()
