"""`nakoming doctor`: checks a deployment from where it runs, one line per check.

Each check says ok, warn or FAIL with what it saw; the command exits 1 when any check failed. Checks: the database
answers, its schema is at the migrations' head, Redis answers (arq backend), a worker's heartbeat is recent (arq's
own health-check key, refreshed every `health_check_interval`), the pseudonym key is set, the Tweede Kamer feed can
be reached, where metrics and traces go (and that the metrics directory can be written), and the clocks of this machine, the database and Redis agree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import create_engine
from shared.migrate import current_revisions, schema_problem
from shared.settings import Settings
from shared.tk.client import FeedClient
from shared.tracing import otlp_endpoint

Outcome = Literal["ok", "warn", "FAIL"]
CLOCK_SKEW_WARN_SECONDS = 2.0
TIMEOUT_SECONDS = 5.0


@dataclass
class Check:
    name: str
    outcome: Outcome
    detail: str

    def line(self) -> str:
        return f"{self.outcome:<4}  {self.name:<12} {self.detail}"


async def _timed(check: Callable[[], Awaitable[Check]], name: str) -> Check:
    try:
        return await asyncio.wait_for(check(), TIMEOUT_SECONDS)
    except TimeoutError:
        return Check(name, "FAIL", f"no answer within {TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # noqa: BLE001 - a doctor reports every failure the same way, in one line
        return Check(
            name, "FAIL", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        )


async def run_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    clocks: dict[str, float] = {}
    url = make_url(settings.database_url)
    path = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if path and not Path(path).exists():  # connecting would leave an empty file behind
        checks += [
            Check("database", "FAIL", f"no SQLite database at {Path(path).resolve()}"),
            Check("migrations", "FAIL", await schema_problem(settings.database_url) or ""),
        ]
    else:
        checks += await _database_checks(settings, clocks)
    return await _service_checks(settings, checks, clocks)


async def _database_checks(settings: Settings, clocks: dict[str, float]) -> list[Check]:
    checks: list[Check] = []
    engine = create_engine(settings.database_url)
    try:

        async def database() -> Check:
            started = time.perf_counter()
            async with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    before = time.time()
                    remote = float(
                        (
                            await conn.execute(text("SELECT extract(epoch FROM clock_timestamp())"))
                        ).scalar_one()
                    )
                    clocks["database"] = remote - (before + time.time()) / 2
                else:
                    await conn.execute(text("SELECT 1"))
            return Check(
                "database",
                "ok",
                f"{engine.dialect.name} answered in {(time.perf_counter() - started) * 1000:.0f} ms",
            )

        checks.append(await _timed(database, "database"))

        async def migrations() -> Check:
            problem = await schema_problem(settings.database_url)
            if problem:
                return Check("migrations", "FAIL", problem)
            return Check("migrations", "ok", f"at head {', '.join(sorted(await current_revisions(engine)))}")

        if checks[-1].outcome == "ok":
            checks.append(await _timed(migrations, "migrations"))
        else:
            checks.append(Check("migrations", "FAIL", "not checked: the database does not answer"))
    finally:
        await engine.dispose()
    return checks


async def _service_checks(settings: Settings, checks: list[Check], clocks: dict[str, float]) -> list[Check]:
    if settings.job_backend == "arq":
        checks.extend(await _redis_checks(settings, clocks))
    else:
        checks.append(
            Check("redis", "ok", "not used: jobs run in this process (NAKOMING_JOB_BACKEND=inprocess)")
        )

    if settings.pseudonym_key is not None:
        checks.append(
            Check(
                "pseudonyms", "ok", f"NAKOMING_PSEUDONYM_KEY set (version {settings.pseudonym_key_version})"
            )
        )
    else:
        checks.append(
            Check(
                "pseudonyms",
                "FAIL" if settings.environment == "production" else "warn",
                "NAKOMING_PSEUDONYM_KEY is not set: client references use the development key",
            )
        )

    async def feed() -> Check:
        async with httpx.AsyncClient() as http:
            reason = await FeedClient.from_settings(http, settings).unreachable(TIMEOUT_SECONDS)
        if reason:
            return Check(
                "tk feed", "warn", f"{settings.tk_syncfeed_url} cannot be reached ({reason}): syncs will fail"
            )
        return Check("tk feed", "ok", f"{settings.tk_syncfeed_url} reachable")

    checks.append(await _timed(feed, "tk feed"))
    checks.append(telemetry_check(settings))
    checks.append(_clock_check(clocks))
    return checks


def telemetry_check(settings: Settings) -> Check:
    """Where metrics and traces go; FAIL when PROMETHEUS_MULTIPROC_DIR is set but cannot be written (every
    request's metrics would fail to be recorded)."""
    parts = ["/metrics for admin keys"]
    if settings.metrics_port:
        parts.append(f"and without a key on port {settings.metrics_port}")
    multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc:
        if not (os.path.isdir(multiproc) and os.access(multiproc, os.W_OK)):
            return Check(
                "telemetry", "FAIL", f"PROMETHEUS_MULTIPROC_DIR={multiproc} is not a writable directory"
            )
        parts.append(f"(processes share {multiproc})")
    endpoint = otlp_endpoint(settings)
    parts.append(f"; traces to {endpoint}" if endpoint else "; tracing off")
    return Check("telemetry", "ok", " ".join(parts).replace(" ;", ";"))


async def _redis_checks(settings: Settings, clocks: dict[str, float]) -> list[Check]:
    import redis.asyncio as aioredis
    from arq.constants import default_queue_name, health_check_key_suffix

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT_SECONDS)
    try:

        async def ping() -> Check:
            started = time.perf_counter()
            await client.ping()
            before = time.time()
            seconds, micros = await client.time()
            clocks["redis"] = seconds + micros / 1e6 - (before + time.time()) / 2
            return Check("redis", "ok", f"answered in {(time.perf_counter() - started) * 1000:.0f} ms")

        result = [await _timed(ping, "redis")]
        if result[0].outcome != "ok":
            return [*result, Check("worker", "FAIL", "not checked: Redis does not answer")]

        async def heartbeat() -> Check:
            key = default_queue_name + health_check_key_suffix
            value = await client.get(key)
            if value is None:
                return Check(
                    "worker", "FAIL", f"no worker heartbeat in Redis ({key}): is `nakoming worker` running?"
                )
            ttl = await client.ttl(key)
            queued = await client.zcard(default_queue_name)
            return Check(
                "worker",
                "ok",
                f"heartbeat seen ({value.decode(errors='replace')[:120]}; expires in {ttl} s); "
                f"{queued} jobs queued",
            )

        result.append(await _timed(heartbeat, "worker"))
        return result
    finally:
        await client.aclose()


def _clock_check(clocks: dict[str, float]) -> Check:
    if not clocks:
        return Check(
            "clocks",
            "ok",
            f"this machine {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC; nothing else to compare with",
        )
    skews = clocks  # each: the other clock minus this machine's, read halfway through the round trip
    worst = max(skews.values(), key=abs)
    detail = ", ".join(f"{name} {skew:+.2f} s" for name, skew in skews.items()) + " against this machine"
    if abs(worst) > CLOCK_SKEW_WARN_SECONDS:
        return Check(
            "clocks",
            "warn",
            f"{detail}: more than {CLOCK_SKEW_WARN_SECONDS:g} s apart (due dates and "
            "leases compare times across machines)",
        )
    return Check("clocks", "ok", detail)
