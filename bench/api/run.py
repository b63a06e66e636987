"""bench/api: GET /v1/commitments?limit=50 with 10,000 commitments in PostgreSQL, 50 connections,
one uvicorn process, against a bare FastAPI app serving the same 50 items from memory.

    python3 -m uv run python bench/api/run.py [--rounds 3] [--duration 15]

Needs wrk (Debian package `wrk`) and PostgreSQL at BENCH_DATABASE_URL
(default postgresql+asyncpg://postgres@127.0.0.1:5432/bench_api; created if missing).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import backend_pids, cpu_seconds, fresh_database, machine  # noqa: E402
from shared.commitments.models import Commitment, commitment_themes  # noqa: E402
from shared.themes.models import Theme  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_api")
N = 10_000


async def prepare() -> None:
    engine = await fresh_database(DB_URL)
    now = dt.datetime.now(dt.UTC)
    themes = ["sociale-veiligheid", "bejegening", "communicatie", "inzet-zzp-flex"]
    rows, links = [], []
    for i in range(N):
        cid = uuid.uuid4()
        rows.append(
            {
                "id": cid,
                "title": f"Toezegging {i}: opvolging van aanbeveling {i % 97}",
                "description": "Beschrijving " * 10,
                "origin": "letter",
                "version": 1,
                "due_date": dt.date(2026, 1, 1) + dt.timedelta(days=i % 700) if i % 3 else None,
                "created_at": now - dt.timedelta(seconds=i),
                "updated_at": now,
            }
        )
        links.append({"commitment_id": cid, "theme_key": themes[i % len(themes)]})
    async with engine.begin() as conn:
        await conn.execute(
            insert(Theme),
            [{"key": k, "label_nl": k, "label_en": k, "created_at": now, "updated_at": now} for k in themes],
        )
        await conn.execute(insert(Commitment), rows)
        await conn.execute(insert(commitment_themes), links)
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_command(port: int) -> list[str]:
    """One uvicorn process serving the app (the factory, as `nakoming serve` does), quiet, on `port`."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "services.api.app:asgi",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def start(cmd: list[str], env: dict[str, str], port: int, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/commitments?limit=1", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")


def wrk(url: str, duration: int, headers: dict[str, str] | None = None) -> tuple[float, float]:
    sent = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{duration}s", "--latency", *sent, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99_raw = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    value, unit = float(p99_raw.group(1)), p99_raw.group(2)  # type: ignore[union-attr]
    p99_ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} non-2xx responses from {url}")
    return rps, p99_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(prepare())
    api_port, bare_port = free_port(), free_port()
    env = {
        "NAKOMING_DATABASE_URL": DB_URL,
        "NAKOMING_JOB_BACKEND": "inprocess",
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_ENVIRONMENT": "development",
    }
    py = sys.executable
    api = start(
        api_command(api_port),
        env,
        api_port,
    )
    page = httpx.get(f"http://127.0.0.1:{api_port}/v1/commitments?limit=50").json()
    assert len(page["items"]) == 50
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(page, fh)
    bare = start(
        [
            py,
            "-m",
            "uvicorn",
            "bench.api.bare_app:app",
            "--port",
            str(bare_port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        {"BENCH_ITEMS_FILE": fh.name},
        bare_port,
    )
    results: dict[str, list[tuple[float, float]]] = {"api": [], "bare": []}
    # CPU milliseconds per request: the app process, and for Nakoming also its PostgreSQL backends. Steadier
    # than requests/s on a shared machine, and it shows where a request's cost goes.
    cpu: dict[str, list[float]] = {"api": [], "api_pg": [], "bare": []}
    database = DB_URL.rsplit("/", 1)[1]
    urls = {
        "api": f"http://127.0.0.1:{api_port}/v1/commitments?limit=50",
        "bare": f"http://127.0.0.1:{bare_port}/v1/commitments",
    }
    procs = {"api": api, "bare": bare}
    try:
        for url in urls.values():
            wrk(url, 3)  # warm-up
        for _ in range(args.rounds):
            for name in ("api", "bare"):
                pg = backend_pids(database) if name == "api" else []
                before, before_pg = cpu_seconds([procs[name].pid]), cpu_seconds(pg)
                rps, p99 = wrk(urls[name], args.duration)
                requests = rps * args.duration
                results[name].append((rps, p99))
                cpu[name].append((cpu_seconds([procs[name].pid]) - before) / requests * 1000)
                if name == "api":
                    cpu["api_pg"].append((cpu_seconds(pg) - before_pg) / requests * 1000)
    finally:
        api.terminate()
        bare.terminate()
        os.unlink(fh.name)
    ratios = [a[0] / b[0] for a, b in zip(results["api"], results["bare"], strict=True)]
    med = {
        k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
        for k, v in results.items()
    }
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"machine: {machine()}; date {dt.date.today()}; "
        f"{args.rounds} rounds x {args.duration}s, wrk -t2 -c50; load average {os.getloadavg()[0]:.2f}"
    )
    print("| app | requests/s (median) | p99 ms (median) | CPU ms per request (median) |")
    print("|---|---|---|---|")
    print(
        f"| Nakoming GET /v1/commitments?limit=50 (10,000 rows, PostgreSQL) | {med['api'][0]:.0f} | {med['api'][1]:.1f} "
        f"| {mcpu['api']:.2f} app + {mcpu['api_pg']:.2f} PostgreSQL |"
    )
    print(
        f"| bare FastAPI, same 50 items from memory | {med['bare'][0]:.0f} | {med['bare'][1]:.1f} | {mcpu['bare']:.2f} |"
    )
    print(f"| ratio Nakoming / bare (median of per-round ratios) | {statistics.median(ratios):.2f} | | |")
    print("per-round:", json.dumps({"rps_p99": results, "cpu_ms_per_request": cpu}))


if __name__ == "__main__":
    main()
