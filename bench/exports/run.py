"""bench/exports: GET /v1/exports/commitments of 100,000 commitments in PostgreSQL, per format: rows per second
and the process's peak RSS growth while it streams.

    python3 -m uv run python bench/exports/run.py [--rows 100000] [--rounds 3]

Each measurement runs in a process of its own (peak RSS is per process and never goes down): the app starts
in-process, a small export of the same format warms it up (imports, compiled SQL), then the whole export is
driven over ASGI directly (httpx's ASGI transport would hold the whole body in memory) and its bytes counted
as they arrive. tests/api/test_exports_memory.py runs the same measurement and holds the growth to a bound.

Needs PostgreSQL at BENCH_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/bench_exports;
dropped and created).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_exports")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")  # the app's rate limiter
FORMATS = ("csv", "ndjson", "xlsx")
WARM_UP = {"due_before": "2026-01-15"}  # about 2% of the rows (due dates spread over 700 days)
_REASON = (
    '[{"rule": "deadline", "severity": "critical", "code": "deadline.passed", "params": {"label": '
    '"@label.commitment", "date": "2026-01-01"}, "message": "De einddatum 1 januari 2026 is verstreken en de '
    'toezegging is niet nagekomen.", "evidence": [{"type": "due_date", "id": null, "path": null}]}]'
)


async def prepare(url: str, rows: int) -> None:
    """`rows` commitments with a theme, a due date (most), a status and a stored reason, written by the server
    itself (generate_series), so the measuring processes start from a full table."""
    engine = await fresh_database(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO themes (key, label_nl, label_en, created_at, updated_at) VALUES "
                "('inzet-zzp-flex', 'Inzet zzp', 'Self-employed', now(), now()), "
                "('bejegening', 'Bejegening', 'Treatment', now(), now())"
            )
        )
        await conn.execute(
            text(f"""
            INSERT INTO commitments (id, title, description, origin, due_date, version, created_at, updated_at,
                                     status, schedule, reasons, evaluated_at, rule_version)
            SELECT gen_random_uuid(), 'Toezegging ' || i || ': opvolging van aanbeveling ' || (i % 97),
                   repeat('Beschrijving van de toezegging. ', 8), 'letter',
                   CASE WHEN i % 3 = 0 THEN NULL ELSE date '2026-01-01' + (i % 700) END, 1,
                   now() - make_interval(secs => i), now(), 'off_track', 'overdue', :reason, now(), '2026.12.1'
            FROM generate_series(1, {int(rows)}) AS i"""),
            {"reason": _REASON},
        )
        await conn.execute(
            text(
                "INSERT INTO commitment_themes (commitment_id, theme_key) "
                "SELECT id, CASE WHEN random() < 0.5 THEN 'inzet-zzp-flex' ELSE 'bejegening' END "
                "FROM commitments"
            )
        )
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def drive(app: Any, path: str, query: str) -> tuple[int, int, int]:
    """GET path?query straight over ASGI: (status, bytes, line breaks) counted as the chunks arrive."""
    done = asyncio.Event()
    status, size, lines = 0, 0, 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size, lines
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            size += len(body)
            lines += body.count(b"\n")
            if not message.get("more_body"):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    await app(scope, receive, send)
    return status, size, lines


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


async def measure(url: str, fmt: str) -> dict[str, Any]:
    """One export of every commitment in `fmt`, after a warm-up: rows/s and peak RSS growth (this process)."""
    from urllib.parse import urlencode

    from asgi_lifespan import LifespanManager

    from services.api.app import create_app
    from shared.settings import Settings

    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=REDIS_URL,
        job_backend="inprocess",
        log_json=False,
        log_level="WARNING",
        rate_limit_per_minute=1_000_000,
        _env_file=None,
    )  # type: ignore[call-arg]
    app = create_app(settings)
    async with LifespanManager(app):
        status, _, _ = await drive(app, "/v1/exports/commitments", urlencode({**WARM_UP, "format": fmt}))
        assert status == 200, status
        baseline = peak_rss_mb()
        started = time.perf_counter()
        status, size, lines = await drive(app, "/v1/exports/commitments", urlencode({"format": fmt}))
        seconds = time.perf_counter() - started
        assert status == 200, status
    engine_rows = await _count(url)
    return {
        "format": fmt,
        "rows": engine_rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(engine_rows / seconds),
        "bytes": size,
        "lines": lines,
        "baseline_rss_mb": round(baseline, 1),
        "rss_growth_mb": round(peak_rss_mb() - baseline, 1),
    }


async def _count(url: str) -> int:
    from shared.db import create_engine

    engine = create_engine(url)
    async with engine.connect() as conn:
        n = (await conn.execute(text("SELECT count(*) FROM commitments"))).scalar_one()
    await engine.dispose()
    return int(n)


def measured(url: str, fmt: str, redis_url: str = REDIS_URL) -> dict[str, Any]:
    """`measure` in a fresh process (its own peak RSS)."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", fmt, "--database", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
        env={**os.environ, "BENCH_REDIS_URL": redis_url},
    )
    if done.returncode:
        raise RuntimeError(f"the {fmt} measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default=DB_URL)
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--measure", choices=FORMATS, help="(internal) one measurement in this process")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.database, args.measure))))
        return
    asyncio.run(prepare(args.database, args.rows))
    if args.prepare_only:
        return
    load = os.getloadavg()
    results: dict[str, list[dict[str, Any]]] = {fmt: [] for fmt in FORMATS}
    for _ in range(args.rounds):
        for fmt in FORMATS:  # interleaved, so the machine's load falls on every format alike
            results[fmt].append(measured(args.database, fmt))
            print(json.dumps(results[fmt][-1]), file=sys.stderr)
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
        f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.rows} rows, {args.rounds} rounds, medians"
    )
    print("| format | rows/s | seconds | bytes | peak RSS growth (MB) | baseline RSS (MB) |")
    print("|---|---|---|---|---|---|")
    for fmt, runs in results.items():
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("rows_per_s", "seconds", "bytes", "rss_growth_mb", "baseline_rss_mb")
        }
        print(
            f"| {fmt} | {med['rows_per_s']:,.0f} | {med['seconds']:.1f} | {med['bytes']:,.0f} | "
            f"{med['rss_growth_mb']:.1f} | {med['baseline_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
