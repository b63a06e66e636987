"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.migrate import upgrade


async def fresh_database(url: str) -> AsyncEngine:
    """Drop and recreate the benchmark database named in `url`, migrate it, and return an engine on it."""
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = create_engine(url)
    await upgrade(engine)
    return engine


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, from /proc (a process that is gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / TICK


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` (the app's pool connections)."""
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-Atc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(line) for line in out.split()]


def cpu_model() -> str:
    """The processor's model name (/proc/cpuinfo), for the machine line of a RESULTS table."""
    try:
        return next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "unknown",
        )
    except OSError:
        return "unknown"


def machine() -> str:
    """`<n> cores <arch> <cpu model>`."""
    return f"{os.cpu_count()} cores {platform.machine()} {cpu_model()}"
