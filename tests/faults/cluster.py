"""A cluster on loopback for tests/faults/test_cluster.py and bench/cluster: a PostgreSQL server of its own (a
private data directory, so restarting it disturbs nobody), and a bounded mixed load over several API processes
that counts what was acknowledged and what failed, per window of time the caller names."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from tests.factories import signal
from tests.services.real import free_port


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    return Path(initdb).parent


class PostgresServer:
    """`initdb` in a temporary directory, served on a free loopback port; stop (fast, or `immediate`, which is
    a crash to the server) and start again on the same port and data. As root the server runs as `postgres`
    (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="nakoming-pg-"))
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(self.root, self.user)

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            user=self.user,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def init(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        # fsync off: a killed server keeps what it wrote in the OS cache; durability against power loss is not
        # what these tests are about, and syncing would slow every engineer's tests on the machine.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class Load:
    """Requests in a few concurrent loops, round-robin over the API processes: list reads, commitment writes and
    signal intake (each write with its own Idempotency-Key). A write is acknowledged by a 2xx; the titles and
    external ids acknowledged are kept to be found in the database exactly once. Every request is counted under
    the current `window` (set by the caller as faults start and end), with its latency for the benchmark."""

    OPERATIONS = ("read", "commitment", "read", "signal")

    def __init__(
        self,
        apis: list[str],
        writer: dict[str, str],
        intake: dict[str, str],
        *,
        loops: int = 3,
        pause: float = 0.05,
        timeout: float = 10,
    ) -> None:
        self.apis, self.writer, self.intake = apis, writer, intake
        self.loops, self.pause, self.timeout = loops, pause, timeout
        self.window = "start"
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)  # window -> ok / failed
        self.failures: dict[str, Counter[str]] = defaultdict(Counter)  # window -> "op status" -> n
        self.latencies: dict[str, list[float]] = defaultdict(list)  # op -> seconds (successful requests)
        self.commitments: list[str] = []
        self.signals: list[str] = []
        self.tag = letters(6)
        self._turn = itertools.count()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(n)) for n in range(self.loops)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _loop(self, n: int) -> None:
        # Idle connections are dropped before uvicorn's keep-alive (5 s) closes them: otherwise a request sent as
        # the server closes its end fails (RemoteProtocolError) for a reason no deployment behind a proxy has.
        async with httpx.AsyncClient(timeout=self.timeout, limits=httpx.Limits(keepalive_expiry=2)) as client:
            for i in itertools.count(n):
                if self._stop.is_set():
                    return
                await self.request(client, self.OPERATIONS[i % len(self.OPERATIONS)])
                await asyncio.sleep(self.pause)

    async def request(self, client: httpx.AsyncClient, op: str) -> None:
        base = self.apis[next(self._turn) % len(self.apis)]
        window, started = self.window, time.perf_counter()
        try:
            if op == "read":
                r = await client.get(f"{base}/v1/commitments", params={"limit": 20}, headers=self.writer)
            elif op == "commitment":
                title = f"Cluster {self.tag} {letters()}"
                r = await client.post(
                    f"{base}/v1/commitments",
                    json={"title": title},
                    headers={**self.writer, "Idempotency-Key": uuid.uuid4().hex},
                )
                if r.is_success:
                    self.commitments.append(title)
            else:
                external_id = f"CL-{self.tag}-{letters()}"
                r = await client.post(
                    f"{base}/v1/signals",
                    json=signal(external_id=external_id),
                    headers={**self.intake, "Idempotency-Key": uuid.uuid4().hex},
                )
                if r.is_success:
                    self.signals.append(external_id)
            outcome = str(r.status_code) if not r.is_success else None
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        if window.startswith("after") or window == "start":
            window = self.window  # a request that ran into a fault counts under the fault
        if outcome is None:
            self.counts[window]["ok"] += 1
            self.latencies[op].append(time.perf_counter() - started)
        else:
            self.counts[window]["failed"] += 1
            self.failures[window][f"{op} {outcome}"] += 1

    def percentile(self, op: str, q: float) -> float:
        ordered = sorted(self.latencies[op])
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def budget(self) -> str:
        """The error budget: requests and failures per window, in the order the windows came."""
        lines = [f"{'window':<34} {'requests':>8} {'failed':>6}  failures"]
        for window, counts in self.counts.items():
            failures = ", ".join(f"{k}: {v}" for k, v in sorted(self.failures[window].items()))
            lines.append(
                f"{window:<34} {counts['ok'] + counts['failed']:>8} {counts['failed']:>6}  {failures}"
            )
        return "\n".join(lines)


def letters(n: int = 12) -> str:
    """A random tag without digits: nine digits in a row would look like a BSN, and the API refuses those."""
    return uuid.uuid4().hex[:n].translate(str.maketrans("0123456789", "ghijklmnop"))
