"""bench/api/auth: what an OAuth2 bearer token costs beside an API key, side by side in one run.

    python3 -m uv run python bench/api/auth.py [--rounds 3] [--duration 10]

One uvicorn process on PostgreSQL (10,000 commitments, as bench/api/run.py), two measurements per round, each
once with an API key and once with an access token of a client with the same scopes, interleaved:
- GET /v1/commitments?limit=50 (wrk, 50 connections);
- POST /v1/signals, each request with its own Idempotency-Key (wrk + bench/signals/intake.lua, 32 connections).
Target: the token costs at most 5% of the key's throughput. Both are checked once per process and then
remembered (services/api/deps.py PrincipalCache), so this mostly measures that the token path adds nothing
per request; the first use of a token adds a signature check and a client lookup (reported separately).

Needs wrk and PostgreSQL at BENCH_DATABASE_URL (default .../bench_oauth; dropped and recreated), Redis at
BENCH_REDIS_URL (default redis://127.0.0.1:6379/1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_oauth")

from bench.api.run import DB_URL, api_command, free_port, prepare, start, wrk  # noqa: E402
from bench.common import cpu_seconds  # noqa: E402
from bench.signals.run import machine  # noqa: E402
from bench.signals.run import wrk as wrk_intake  # noqa: E402
from shared.auth.clients import create_client  # noqa: E402
from shared.auth.service import create_api_key  # noqa: E402
from shared.db import create_engine, create_session_factory  # noqa: E402
from shared.parties.models import Party, PartyKind  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
SCOPES = ["read", "signals:write"]


async def credentials() -> tuple[str, str, str]:
    """(API key, client_id, client secret) with the same scopes, and the provider party the signals name."""
    engine = create_engine(DB_URL)
    async with create_session_factory(engine)() as s:
        s.add(Party(name="Fokus", kind=PartyKind.provider, agb_code="12345678"))
        _, raw = await create_api_key(s, name="bench key", scopes=SCOPES)
        client, secret = await create_client(s, name="bench client", scopes=SCOPES)
        await s.commit()
    await engine.dispose()
    return raw, client.client_id, secret or ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    started = machine()
    asyncio.run(prepare())
    key, client_id, secret = asyncio.run(credentials())
    port = free_port()
    env = {
        "NAKOMING_DATABASE_URL": DB_URL,
        "NAKOMING_REDIS_URL": REDIS_URL,
        "NAKOMING_JOB_BACKEND": "inprocess",
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_ENVIRONMENT": "development",
        "NAKOMING_RATE_LIMIT_PER_MINUTE": "100000000",
        "NAKOMING_PSEUDONYM_KEY": "bench-only-key",
        "NAKOMING_OAUTH_TOKEN_SECONDS": "3600",
    }
    server = start(
        api_command(port),
        env,
        port,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(
            f"{base}/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json()["access_token"]
        secrets_ = {"key": key, "token": token}
        runs: dict[str, list[float]] = {
            f"{what} {cred}": [] for what in ("list", "intake") for cred in secrets_
        }
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for cred, raw in secrets_.items():  # warm-up
            wrk(f"{base}/v1/commitments?limit=50", 2, {"Authorization": f"Bearer {raw}"})
            wrk_intake(port, raw, 2, f"warm-{cred}")
        for i in range(args.rounds):
            for cred, raw in secrets_.items():
                before = cpu_seconds([server.pid])
                rps, _ = wrk(
                    f"{base}/v1/commitments?limit=50", args.duration, {"Authorization": f"Bearer {raw}"}
                )
                runs[f"list {cred}"].append(rps)
                cpu[f"list {cred}"].append(
                    (cpu_seconds([server.pid]) - before) / (rps * args.duration) * 1000
                )
            for cred, raw in secrets_.items():
                before = cpu_seconds([server.pid])
                rps, failed, _, requests = wrk_intake(
                    port, raw, args.duration, f"r{i}-{cred}-{uuid.uuid4().hex[:6]}"
                )
                if failed:
                    raise RuntimeError(f"{failed} failed intake requests with the {cred}")
                runs[f"intake {cred}"].append(rps)
                cpu[f"intake {cred}"].append((cpu_seconds([server.pid]) - before) / requests * 1000)
        first_use = first_use_ms(base, client_id, secret)
    finally:
        server.terminate()
    print(
        started
        + f"; {args.rounds} rounds x {args.duration} s; load average at the end {os.getloadavg()[0]:.2f}"
    )
    print(
        "| request | API key req/s | token req/s | token / key (median of per-round ratios) | "
        "app CPU ms per request, key / token |"
    )
    print("|---|---|---|---|---|")
    for what, label in (("list", "GET /v1/commitments?limit=50"), ("intake", "POST /v1/signals")):
        k, t = runs[f"{what} key"], runs[f"{what} token"]
        ratio = statistics.median(b / a for a, b in zip(k, t, strict=True))
        print(
            f"| {label} | {statistics.median(k):.0f} | {statistics.median(t):.0f} | {ratio:.3f} | "
            f"{statistics.median(cpu[f'{what} key']):.2f} / {statistics.median(cpu[f'{what} token']):.2f} |"
        )
    print(
        f"first use of a new token (token endpoint excluded): {first_use:.2f} ms more than a cached key's request"
    )
    print("per round req/s:", {name: [round(v) for v in values] for name, values in runs.items()})


def first_use_ms(base: str, client_id: str, secret: str, n: int = 100) -> float:
    """Median latency of a request with a token this process has not seen (signature check, claims, client
    row) minus the same request with a token it has; sequential, one connection."""
    with httpx.Client(base_url=base) as http:
        tokens = [
            http.post(
                "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            ).json()["access_token"]
            for _ in range(n)
        ]
        fresh, cached = [], []
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"}
            for sample in (fresh, cached):
                started = time.perf_counter()
                assert http.get("/v1/commitments?limit=1", headers=headers).status_code == 200
                sample.append(time.perf_counter() - started)
    return (statistics.median(fresh) - statistics.median(cached)) * 1000


if __name__ == "__main__":
    main()
