"""`nakoming sync` killed with SIGKILL in the middle of a run: the next run completes, and the mirror
equals the one a clean run builds. Runs against a database of its own (a subprocess cannot see the
test's uncommitted transaction)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, create_session_factory
from shared.migrate import upgrade
from shared.settings import Settings
from shared.tk.client import FeedClient
from shared.tk.models import (
    TkDocumentFetch,
    TkDocumentIndex,
    TkQuarantine,
    TkSyncRun,
    TkSyncState,
    tk_document_index_zaken,
    tk_document_zaken,
    tk_toezegging_brieven,
)
from shared.tk.repository import MODELS
from shared.tk.service import SyncRunner
from shared.tk.testing import FakeFeed, FeedServer, document, dossier, toezegging, zaak

ROOT = Path(__file__).parents[2]
PG_URL = os.environ.get("NAKOMING_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
MIRROR = tuple(MODELS.values())  # every mirrored entity kind


def g(n: int) -> str:
    return str(uuid.UUID(int=n))


def build_feed() -> FakeFeed:
    feed = FakeFeed(page_size=4, delay=0.1)
    feed.add("Kamerstukdossier", dossier(g(1), 1, nummer="31765"), dossier(g(2), 2, nummer="11111"))
    feed.add("Zaak", *[zaak(g(100 + i), 10 + i, nummer=f"Z{i}", dossier=g(1 + i % 2)) for i in range(8)])
    tz = []
    for i in range(30):
        tz.append(
            toezegging(
                g(1000 + i),
                100 + i,
                nummer=f"TZ-{i}",
                kamerbrief=f"D{i}" if i % 3 == 0 else None,
                bijgewerkt=f"2026-01-01T10:{i:02d}:00Z",
                status="Openstaand" if i % 2 else "Voldaan",
            )
        )
    # re-emitted old versions and deletes in the middle of the stream
    tz.append(toezegging(g(1000), 140, nummer="TZ-0", bijgewerkt="2025-01-01T00:00:00Z", status="Openstaand"))
    tz.append(toezegging(g(1005), 141, nummer="TZ-5", bijgewerkt="2026-06-01T00:00:00Z", deleted=True))
    feed.add("Toezegging", *tz)
    feed.add(
        "Document",
        *[
            document(
                g(5000 + i),
                200 + i,
                nummer=f"D{i}",
                zaken=[g(100 + i % 8)],
                titel="Brief",
                onderwerp="Iets",
                dossier=None,
            )
            for i in range(30)
        ],
    )
    return feed


@pytest.fixture
async def own_db(backend: str, tmp_path: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    else:
        base = make_url(PG_URL)
        name = f"{base.database}_kill"
        admin = create_engine(PG_URL)
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            exists = (
                await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            ).scalar()
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    if backend != "sqlite":
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    yield url, engine
    await engine.dispose()


async def mirror_contents(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for model in MIRROR:
            table = model.__table__
            columns = [c for c in table.c if c.name != "synced_at"]
            rows = (await conn.execute(select(*columns).order_by(table.c.id))).all()
            out[table.name] = [tuple(r) for r in rows]
        links = await conn.execute(select(tk_document_zaken).order_by(*tk_document_zaken.c))
        out["tk_document_zaken"] = [tuple(r) for r in links.all()]
        out["checkpoints"] = [
            tuple(r)
            for r in (
                await conn.execute(
                    select(TkSyncState.category, TkSyncState.skiptoken).order_by(TkSyncState.category)
                )
            ).all()
        ]
    return out


async def checkpoint_of(engine: AsyncEngine, category: str) -> int | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(select(TkSyncState.skiptoken).where(TkSyncState.category == category))
        ).scalar()


async def in_process_sync(url: str, engine: AsyncEngine, feed_url: str) -> list[Any]:
    settings = Settings(
        environment="test",
        database_url=url,
        tk_syncfeed_url=feed_url,
        tk_request_interval=0.0,
        tk_dossiers=["31765"],
        tk_terms=[],
        _env_file=None,
    )  # type: ignore[call-arg]
    async with httpx.AsyncClient() as http:
        return await SyncRunner(
            create_session_factory(engine), FeedClient.from_settings(http, settings), settings
        ).run()


async def test_killed_sync_then_clean_run_equals_a_clean_sync(own_db: tuple[str, AsyncEngine]) -> None:
    url, engine = own_db
    feed = build_feed()
    with FeedServer(feed) as server:
        env = {
            **os.environ,
            "NAKOMING_DATABASE_URL": url,
            "NAKOMING_TK_SYNCFEED_URL": server.url,
            "NAKOMING_TK_REQUEST_INTERVAL": "0",
            "NAKOMING_JOB_BACKEND": "inprocess",
            "NAKOMING_TK_DOSSIERS": "31765",
            "NAKOMING_TK_TERMS": "",
            "NAKOMING_LOG_LEVEL": "WARNING",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "sync",
            "--no-progress",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            for _ in range(600):  # wait (up to a minute) until the Toezegging run is under way
                token = await checkpoint_of(engine, "Toezegging")
                if token is not None and token >= 103:
                    break
                if proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            assert proc.returncode is None, "the sync finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
        finally:
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        killed_at = await checkpoint_of(engine, "Toezegging")
        assert killed_at is not None and killed_at < 141  # it really stopped half-way

        feed.delay = 0.0
        feed.requests.clear()
        summaries = await in_process_sync(url, engine, server.url)
        assert all(s.status == "succeeded" for s in summaries)
        assert ("Toezegging", killed_at) in feed.requests  # resumed from the checkpoint, not from the start
        recovered = await mirror_contents(engine)
        async with engine.connect() as conn:
            statuses = set(
                (
                    await conn.execute(select(TkSyncRun.status).where(TkSyncRun.category == "Toezegging"))
                ).scalars()
            )
        assert "abandoned" in statuses  # the killed run is closed, not left running

        async with engine.begin() as conn:  # start over and sync cleanly (the thin index and queues too)
            for table in (tk_document_zaken, tk_toezegging_brieven, tk_document_index_zaken):
                await conn.execute(delete(table))
            for model in (*MIRROR, TkSyncState, TkSyncRun, TkDocumentIndex, TkDocumentFetch, TkQuarantine):
                await conn.execute(delete(model))
        summaries = await in_process_sync(url, engine, server.url)
        assert all(s.status == "succeeded" for s in summaries)
        clean = await mirror_contents(engine)

    assert recovered == clean
    assert len(clean["tk_toezeggingen"]) == 30 and len(clean["tk_documents"]) > 0
