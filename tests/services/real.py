"""Real processes for job tests: a redis-server of the test's own, a database of its own (a subprocess cannot
see the test's uncommitted transaction), `nakoming worker` subprocesses, and the API on a real engine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from shared.auth.service import create_api_key
from shared.db import create_engine, create_session_factory, session_scope
from shared.migrate import upgrade
from shared.settings import Settings

ROOT = Path(__file__).parents[2]
PG_URL = os.environ.get("NAKOMING_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Ports for the processes these tests start (first free one is taken).
PORTS = range(*map(int, os.environ.get("NAKOMING_TEST_PORTS", "18150-18199").split("-")))


_HANDED_OUT: set[int] = set()  # ports given to a server that may not have bound them yet (or is down a while)


def free_port() -> int:
    """A port nobody listens on, not handed out before (when every one was, the oldest servers are gone)."""
    if len(_HANDED_OUT) >= len(PORTS) // 2:
        _HANDED_OUT.clear()
    for port in PORTS:
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError(f"no free port in {PORTS}")


class RedisServer:
    """A redis-server of this test's own that the test may stop and start again; without persistence, or with an
    append-only file in `data` (every write synced, as a deployment that must not lose its queue runs it)."""

    def __init__(self, data: Path | None = None) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed; these tests need a Redis they may stop")
        self.port = free_port()
        self.data = data
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "no"]
            if self.data is None
            else ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.data)]
        )
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:  # e.g. another process took the port meanwhile
                raise RuntimeError(f"redis-server could not start on port {self.port}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s,
            ):
                s.sendall(b"INFO server\r\n")
                if f"process_id:{self.proc.pid}".encode() in s.recv(65536):
                    return  # it is our server answering, not someone else's on the same port
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self, *, graceful: bool = False) -> None:
        """Kill it (or, `graceful`, let it shut down as on SIGTERM: clients are cut either way)."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            self.proc.wait(30)
            self.proc = None

    def client(self) -> aioredis.Redis:
        return aioredis.from_url(self.url)


@contextlib.contextmanager
def redis_server() -> Any:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def own_database(suffix: str) -> tuple[str, AsyncEngine]:
    """A PostgreSQL database `<test db>_<suffix>` with a fresh schema, migrated."""
    base = make_url(PG_URL)
    name = f"{base.database}_{suffix}"
    admin = create_engine(PG_URL)
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if not (
            await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        ).scalar():
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    return url, engine


def worker_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "NAKOMING_DATABASE_URL": database_url,
        "NAKOMING_REDIS_URL": redis_url,
        "NAKOMING_JOB_BACKEND": "arq",
        "NAKOMING_LOG_LEVEL": "INFO",
        "NAKOMING_LOG_JSON": "true",
        "NAKOMING_ENVIRONMENT": "test",
        "NAKOMING_JOB_LEASE_SECONDS": "6",
        "NAKOMING_TK_SYNC_INTERVAL": "86400",
        **extra,
    }


class Service:
    """A `nakoming <command>` subprocess; its log lines go to a file the test can read."""

    command: tuple[str, ...] = ()

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *self.command],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Worker(Service):
    """`nakoming worker`."""

    command = ("worker",)

    def start(self) -> Worker:
        super().start()
        return self

    async def ready(self, redis: aioredis.Redis, timeout: float = 60) -> None:
        """Wait until the worker polls the queue (it records its health on every poll round)."""
        await wait_until(lambda: redis.exists("arq:queue:health-check"), timeout, "the worker to start")


class ApiServer(Service):
    """`nakoming serve` on a port of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(env, log)
        self.port = free_port()
        self.command = ("serve", "--host", "127.0.0.1", "--port", str(self.port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        super().start()
        return self

    async def ready(self, timeout: float = 180) -> None:
        async def answers() -> bool:
            async with httpx.AsyncClient(timeout=2) as client:
                with contextlib.suppress(httpx.HTTPError):
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
            return False

        await wait_until(answers, timeout, f"the API on port {self.port} to be ready", step=0.2)


async def wait_until(
    check: Callable[[], Awaitable[Any]], timeout: float, what: str, step: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(step)


async def queue_idle(redis: aioredis.Redis) -> bool:
    """Nothing queued, running or marked to run again on the arq queue. (A job key lives from enqueue to the end
    of the job; in-progress keys are not looked at: arq keeps a cron job's for a minute after it ended.)"""
    return not await redis.keys("arq:job:*") and not await redis.keys("nakoming:rerun:*")


async def writer_key(engine: AsyncEngine, scopes: list[str] | None = None) -> dict[str, str]:
    async with session_scope(create_session_factory(engine)) as session:
        _, raw = await create_api_key(session, name="job tests", scopes=scopes or ["read", "write", "admin"])
    return {"Authorization": f"Bearer {raw}"}


@contextlib.asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API on its own engine and queue, as `nakoming serve` (arq) or `nakoming run` (in-process) builds it."""
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


def settings_for(database_url: str, redis_url: str, backend: str, **extra: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        job_backend=backend,
        log_json=False,
        _env_file=None,
        **extra,
    )  # type: ignore[call-arg]


class TcpProxy:
    """A TCP relay to PostgreSQL that the test can take down (listener closed, every connection cut) and
    bring back on the same port: what a database restart or a network outage looks like to a client."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()
        self.server = None

    def url(self, database_url: str) -> str:
        return (
            make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        )

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
                self.writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
