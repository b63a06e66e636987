"""bench/hostile: /healthz latency and process RSS while hostile bodies arrive (issue 10).

    python3 -m uv run python bench/hostile/run.py [--duration 30]

One `uvicorn services.api.app:asgi` process (SQLite, in-process jobs). Every second, with a valid key:
a 20 MB body of 1.5 million BSN-like strings to POST /v1/signals, alternately with Content-Length and
streamed (chunked, no Content-Length), plus a body just under the 1 MB limit of the same strings (parsed
and validated in a worker thread). Meanwhile /healthz every 50 ms. Targets: /healthz p99 < 100 ms, RSS < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.auth.service import create_api_key  # noqa: E402
from shared.db import create_engine, create_session_factory  # noqa: E402
from shared.migrate import upgrade  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "18320"))
BSN_LIKE = b'"111222333", '


def hostile(size: int) -> bytes:
    inner = BSN_LIKE * (size // len(BSN_LIKE))
    return (
        b'{"source_system": "x", "external_id": "y", "kind": "klacht", "received_date": "2026-01-01", '
        b'"themes": [' + inner + b'"111222333"]}'
    )


async def prepare(url: str) -> str:
    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine)() as s:
        _, raw = await create_api_key(s, name="bench hostile", scopes=["signals:write"])
        await s.commit()
    await engine.dispose()
    return raw


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(duration: float, key: str, pid: int) -> dict:
    big, near = hostile(20 * 1024 * 1024), hostile(1024 * 1024 - 2048)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k", "content-type": "application/json"}
    latencies: list[float] = []
    answers: dict[str, list[int]] = {"20MB": [], "20MB streamed": [], "1MB": []}
    peak = 0.0
    stop = time.monotonic() + duration

    async def probe(c: httpx.AsyncClient) -> None:
        nonlocal peak
        while time.monotonic() < stop:
            t = time.perf_counter()
            r = await c.get("/healthz")
            latencies.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.05)

    async def attack(c: httpx.AsyncClient) -> None:
        n = 0
        while time.monotonic() < stop:
            t = time.monotonic()
            n += 1

            async def stream():
                for i in range(0, len(big), 1 << 20):
                    yield big[i : i + (1 << 20)]

            kind = "20MB" if n % 2 else "20MB streamed"
            try:
                r = await c.post("/v1/signals", content=big if n % 2 else stream(), headers=headers)
                answers[kind].append(r.status_code)
            except httpx.HTTPError:  # the server may close the connection on a body it refused
                answers[kind].append(-1)
            answers["1MB"].append((await c.post("/v1/signals", content=near, headers=headers)).status_code)
            await asyncio.sleep(max(0.0, 1 - (time.monotonic() - t)))

    base = f"http://127.0.0.1:{PORT}"
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as probe_client,
        httpx.AsyncClient(base_url=base, timeout=60) as attack_client,
    ):
        await asyncio.gather(probe(probe_client), attack(attack_client))
    latencies.sort()
    return {
        "probes": len(latencies),
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "max": latencies[-1],
        "rss_peak_mb": peak,
        "answers": {k: sorted(set(v)) for k, v in answers.items()},
        "attacks": len(answers["1MB"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=30)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-hostile-")
    url = f"sqlite+aiosqlite:///{tmp}/hostile.db"
    key = asyncio.run(prepare(url))
    env = {
        **os.environ,
        "NAKOMING_DATABASE_URL": url,
        "NAKOMING_JOB_BACKEND": "inprocess",
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_REDIS_URL": "redis://127.0.0.1:6379/14",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "services.api.app:asgi",
            "--port",
            str(PORT),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(1200):
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        idle = rss_mb(server.pid)
        result = asyncio.run(run(args.duration, key, server.pid))
    finally:
        server.terminate()
        server.wait()
    print(
        f"idle RSS {idle:.0f} MB; {result['attacks']} rounds of hostile bodies; answers {result['answers']}"
    )
    print(
        f"/healthz: {result['probes']} probes, p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, "
        f"max {result['max']:.1f} ms (target p99 < 100 ms); RSS peak {result['rss_peak_mb']:.0f} MB "
        "(target < 500 MB)"
    )


if __name__ == "__main__":
    main()
