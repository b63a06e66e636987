"""bench/signals: client-signal intake, batch processing and statistics against one uvicorn process on PostgreSQL.

    python3 -m uv run python bench/signals/run.py [--rounds 3] [--duration 15] [--skip-stats] [--skip-intake]
        [--skip-batch]

1. Sustained single-signal intake: POST /v1/signals, each request with its own Idempotency-Key (wrk + Lua,
   2 threads, 32 connections) - target >= 500 requests/s.
2. A 100,000-line NDJSON batch: POST /v1/signals/batches, then until GET shows `done` (processed by the
   API process's in-process job runner) - target <= 30 s.
3. GET /v1/signals/stats over 1,000,000 signals (bulk-loaded with COPY) per group_by - target <= 200 ms.

Needs wrk and PostgreSQL at BENCH_DATABASE_URL (default .../bench_signals; dropped and recreated).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import backend_pids, cpu_model, cpu_seconds, fresh_database  # noqa: E402
from shared.auth.service import create_api_key  # noqa: E402
from shared.db import create_engine, create_session_factory  # noqa: E402
from shared.parties.models import Party, PartyKind  # noqa: E402
from shared.themes.models import Theme  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_signals")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
THEMES = [
    "sociale-veiligheid",
    "bejegening",
    "communicatie",
    "continuiteit-bezetting",
    "inzet-zzp-flex",
    "eigen-regie",
    "deskundigheid",
    "zorg-buiten-de-woning",
    "wonen-verhuizing",
    "privacy",
    "financien",
    "organisatie",
]
HERE = Path(__file__).resolve().parent


async def prepare() -> str:
    engine = await fresh_database(DB_URL)
    async with create_session_factory(engine)() as s:
        s.add_all([Theme(key=k, label_nl=k, label_en=k) for k in THEMES])
        s.add(Party(name="Fokus", kind=PartyKind.provider, agb_code="12345678"))
        _, raw = await create_api_key(s, name="bench", scopes=["signals:write", "signals:read"])
        await s.commit()
    await engine.dispose()
    return raw


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(job_backend: str) -> dict[str, str]:
    return {
        **os.environ,
        "NAKOMING_DATABASE_URL": DB_URL,
        "NAKOMING_REDIS_URL": REDIS_URL,
        "NAKOMING_JOB_BACKEND": job_backend,
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_LOG_JSON": "true",
        "NAKOMING_RATE_LIMIT_PER_MINUTE": "100000000",
        "NAKOMING_DATABASE_POOL_SIZE": "20",
        "NAKOMING_PSEUDONYM_KEY": "bench-only-key",
        "NAKOMING_ENVIRONMENT": "development",
    }


def start_worker() -> subprocess.Popen[bytes]:
    """`nakoming worker` (arq on BENCH_REDIS_URL): batches are processed there, as in production."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "worker"],
        cwd=ROOT,
        env=server_env("arq"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_server(port: int, job_backend: str = "inprocess") -> subprocess.Popen[bytes]:
    env = server_env(job_backend)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "services.api.app:asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(
        "server did not start: " + (proc.stderr.read().decode()[-2000:] if proc.stderr else "")
    )


def wrk(port: int, raw_key: str, duration: int, tag: str) -> tuple[float, int, float, int]:
    """(requests/s, non-2xx answers, p99 ms, requests)"""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c32",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(HERE / "intake.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            tag,
            raw_key,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)] if p99 else float("nan")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, int(non2xx.group(1)) if non2xx else 0, p99_ms, requests


def ndjson_batch(n: int, tag: str) -> bytes:
    rng = random.Random(tag)
    lines = []
    for i in range(n):
        lines.append(
            orjson.dumps(
                {
                    "source_system": f"batch-{tag}",
                    "external_id": f"E-{i}",
                    "kind": rng.choice(["klacht", "signaal", "incident"]),
                    "channel": "email",
                    "themes": rng.sample(THEMES, rng.choice([1, 1, 2])),
                    "severity": "middel",
                    "received_date": (
                        dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(600))
                    ).isoformat(),
                    "provider_agb": rng.choice(["12345678", "23456789", "34567890"]),
                    "location": f"Locatie {rng.randrange(98)}",
                    "zorgkantoor_code": rng.choice(["5521", "5522", "5523"]),
                    "reporter_role": "client",
                    "client_reference": f"CL-{rng.randrange(1500)}",
                    "summary": "Assistentie kwam niet op tijd.",
                }
            )
        )
    return b"\n".join(lines) + b"\n"


def batch_round(port: int, raw_key: str, tag: str) -> tuple[float, float, dict]:
    body = ndjson_batch(100_000, tag)
    headers = {"Authorization": f"Bearer {raw_key}", "content-type": "application/x-ndjson"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
        started = time.perf_counter()
        r = c.post("/v1/signals/batches", content=body, headers=headers)
        r.raise_for_status()
        accepted_at = time.perf_counter() - started
        while True:
            got = c.get(f"/v1/signals/batches/{r.json()['id']}", headers=headers).json()
            if got["status"] in ("done", "failed"):
                return accepted_at, time.perf_counter() - started, got
            time.sleep(0.1)


async def load_million(n: int = 1_000_000) -> float:
    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(DB_URL.replace("postgresql+asyncpg", "postgresql"))
    # A clean table of 1,000,000 historical signals (created yesterday: older than the counts' safety margin).
    await conn.execute(
        "TRUNCATE client_signals, client_signal_themes, client_signal_counts, "
        "client_signal_count_state, idempotency_keys CASCADE"
    )
    rng = random.Random(7)
    providers = [f"{10000000 + i * 7919:08d}" for i in range(120)]
    zks = [f"{5500 + i}" for i in range(32)]
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    chunk = 100_000
    for start in range(0, n, chunk):
        signals, links = [], []
        for i in range(start, min(n, start + chunk)):
            sid = uuid.uuid4()
            received = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(1000))
            signals.append(
                (
                    sid,
                    "bulk",
                    f"B-{i}",
                    rng.choice(["klacht", "signaal", "incident"]),
                    "email",
                    "middel",
                    received,
                    rng.choice(providers),
                    f"Locatie {rng.randrange(300)}",
                    rng.choice(zks),
                    False,
                    "ontvangen",
                    received + dt.timedelta(days=730),
                    False,
                    now,
                    now,
                )
            )
            for theme in rng.sample(THEMES, rng.choice([1, 1, 2])):
                links.append((sid, theme, received))
        await conn.copy_records_to_table(
            "client_signals",
            records=signals,
            columns=[
                "id",
                "source_system",
                "external_id",
                "kind",
                "channel",
                "severity",
                "received_date",
                "provider_agb",
                "location",
                "zorgkantoor_code",
                "anonymous",
                "status",
                "retention_date",
                "extension_recorded",
                "created_at",
                "updated_at",
            ],
        )
        await conn.copy_records_to_table(
            "client_signal_themes", records=links, columns=["signal_id", "theme_key", "received_date"]
        )
    await conn.execute("VACUUM ANALYZE client_signals")
    await conn.execute("VACUUM ANALYZE client_signal_themes")
    await conn.close()
    return time.perf_counter() - started


async def refresh_counts() -> float:
    from shared.db import session_scope
    from shared.signals.rollup import refresh

    engine = create_engine(DB_URL)
    started = time.perf_counter()
    async with session_scope(create_session_factory(engine)) as session:
        await refresh(session)
    await engine.dispose()
    return time.perf_counter() - started


def time_stats(port: int, params: dict, runs: int) -> tuple[float, float]:
    timings = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
        c.get("/v1/signals/stats", params=params).raise_for_status()  # warm
        for _ in range(runs):
            started = time.perf_counter()
            c.get("/v1/signals/stats", params=params).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), max(timings)


def machine() -> str:
    cpu = cpu_model()
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}, {cpu}), {platform.system()} {platform.release()}, "
        f"load average at start {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--skip-stats", action="store_true")
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument(
        "--worker",
        action="store_true",
        help="process batches in a separate `nakoming worker` (arq) instead of in the API process",
    )
    args = parser.parse_args()
    print(machine())
    raw = asyncio.run(prepare())
    port = free_port()
    server = start_server(port, "arq" if args.worker else "inprocess")
    worker = start_worker() if args.worker else None
    rows: list[tuple[str, str, str, str]] = []
    database = DB_URL.rsplit("/", 1)[1]
    where = "worker process" if args.worker else "API process"
    try:
        if not args.skip_intake:
            wrk(port, raw, 3, "warm")
            # CPU per request of the uvicorn process and of its PostgreSQL backends (from /proc): steadier than
            # requests/s on a shared machine, where wrk, PostgreSQL and other people's work take turns on the CPUs.
            backends = backend_pids(database)
            intake, app_cpu, pg_cpu = [], [], []
            for i in range(args.rounds):
                before, before_pg = cpu_seconds([server.pid]), cpu_seconds(backends)
                intake.append(wrk(port, raw, args.duration, f"r{i}-{uuid.uuid4().hex[:6]}"))
                app_cpu.append((cpu_seconds([server.pid]) - before) / intake[-1][3] * 1000)
                pg_cpu.append((cpu_seconds(backends) - before_pg) / intake[-1][3] * 1000)
                rps, non2xx, p99, _ = intake[-1]
                print(
                    f"intake round {i + 1}: {rps:.0f} req/s, non-2xx {non2xx}, p99 {p99:.1f} ms, CPU per request "
                    f"{app_cpu[-1]:.3f} ms (uvicorn) + {pg_cpu[-1]:.3f} ms (PostgreSQL), "
                    f"load {os.getloadavg()[0]:.2f}"
                )
            rps = statistics.median(r[0] for r in intake)
            rows.append(("single-signal intake (req/s, median)", f"{rps:.0f}", ">= 500", f"{rps / 500:.2f}x"))
            rows.append(
                (
                    "single-signal intake, uvicorn CPU per request (ms, median)",
                    f"{statistics.median(app_cpu):.3f}",
                    "-",
                    "-",
                )
            )
            rows.append(
                (
                    "single-signal intake, PostgreSQL CPU per request (ms, median)",
                    f"{statistics.median(pg_cpu):.3f}",
                    "-",
                    "-",
                )
            )
        batches, batch_cpu = [], []
        processing = [server.pid] + ([worker.pid] if worker is not None else [])
        cpu_of = "API and worker processes" if worker is not None else "API process"
        for i in range(0 if args.skip_batch else args.rounds):
            before = cpu_seconds(processing)
            accepted, total, got = batch_round(port, raw, f"{i}-{uuid.uuid4().hex[:6]}")
            batch_cpu.append(cpu_seconds(processing) - before)
            print(
                f"batch round {i + 1}: 202 after {accepted:.2f} s, done after {total:.2f} s "
                f"(accepted {got['accepted']}, duplicate {got['duplicate']}, rejected {got['rejected']}), "
                f"{batch_cpu[-1]:.1f} s CPU in the {cpu_of}, load {os.getloadavg()[0]:.2f}"
            )
            batches.append((accepted, total))
        if batches:
            accepted_m = statistics.median(b[0] for b in batches)
            total_m = statistics.median(b[1] for b in batches)
            rows.append(("100k NDJSON batch: upload to 202 (s, median)", f"{accepted_m:.2f}", "-", "-"))
            rows.append(
                (
                    f"100k NDJSON batch: upload to done, {where} (s, median)",
                    f"{total_m:.2f}",
                    "<= 30",
                    f"{30 / total_m:.2f}x",
                )
            )
            rows.append(
                (
                    f"100k NDJSON batch: CPU of the {cpu_of} (s, median)",
                    f"{statistics.median(batch_cpu):.1f}",
                    "-",
                    "-",
                )
            )
        if not args.skip_stats:
            seconds = asyncio.run(load_million())
            print(f"loaded 1,000,000 signals with COPY in {seconds:.1f} s")
            for params in (
                {"group_by": "theme"},
                {"group_by": "month"},
                {"group_by": "provider", "kind": "klacht"},
            ):
                median, worst = time_stats(port, params, 3)
                label = "stats (counts not built: raw) " + "&".join(f"{k}={v}" for k, v in params.items())
                print(f"{label}: median {median:.1f} ms, max {worst:.1f} ms")
                rows.append((label + " (ms, median of 3)", f"{median:.1f}", "-", "-"))
            seconds = asyncio.run(refresh_counts())
            print(f"built the monthly counts (job signals.refresh_counts, first run) in {seconds:.1f} s")
            rows.append(("refresh of all monthly counts, 1M signals (s)", f"{seconds:.1f}", "-", "-"))
            for params in (
                {"group_by": "theme"},
                {"group_by": "provider"},
                {"group_by": "location"},
                {"group_by": "zorgkantoor"},
                {"group_by": "month"},
                {"group_by": "month", "theme": "bejegening"},
                {"group_by": "provider", "from": "2024-01-01", "to": "2024-12-31"},
                {"group_by": "location", "from": "2023-03-15", "to": "2025-06-10"},
                {"group_by": "zorgkantoor", "theme": "bejegening", "kind": "klacht"},
            ):
                median, worst = time_stats(port, params, 7)
                label = "stats " + "&".join(f"{k}={v}" for k, v in params.items())
                print(f"{label}: median {median:.1f} ms, max {worst:.1f} ms")
                rows.append((label + " (ms, median of 7)", f"{median:.1f}", "<= 200", f"{200 / median:.2f}x"))
    finally:
        for proc in (server, worker):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    print()
    print(f"| {'measurement':<62} | {'value':>8} | {'target':>7} | {'headroom':>8} |")
    print(f"|{'-' * 64}|{'-' * 10}|{'-' * 9}|{'-' * 10}|")
    for label, value, target, ratio in rows:
        print(f"| {label:<62} | {value:>8} | {target:>7} | {ratio:>8} |")


if __name__ == "__main__":
    main()
