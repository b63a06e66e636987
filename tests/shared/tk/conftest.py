"""Fixtures for the TK sync tests: a fake feed on a real loopback server and a runner wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.worker.context import build_context, close_context
from services.worker.queue import InProcessQueue
from shared.settings import Settings
from shared.tk.client import FeedClient
from shared.tk.service import SyncRunner
from shared.tk.testing import FakeFeed, FeedServer, load_directory
from tests.tk_feed import FIXTURES, feed_server  # noqa: F401  (fixture: a real loopback server for `feed`)


@pytest.fixture
def feed() -> FakeFeed:
    return FakeFeed(page_size=250)


@pytest.fixture
def samples(feed: FakeFeed) -> FakeFeed:
    """The feed serving the recorded sample pages (tests/fixtures/tk)."""
    load_directory(feed, FIXTURES)
    return feed


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


class Recorder:
    """Collects the `status.recalculate_commitment` jobs the sync enqueues (a real in-process queue)."""

    def __init__(self) -> None:
        self.commitments: list[str] = []

    async def __call__(self, ctx: dict[str, Any], commitment_id: str) -> None:
        self.commitments.append(commitment_id)


@pytest.fixture
async def recalculations(
    settings: Settings, connection: Any, session_factory: Any
) -> AsyncIterator[tuple[InProcessQueue, Recorder]]:
    recorder = Recorder()
    ctx = await build_context(settings, engine=connection.engine, session_factory=session_factory)
    queue = InProcessQueue(ctx, {"status.recalculate_commitment": recorder})
    yield queue, recorder
    await queue.close()
    await close_context(ctx)


@pytest.fixture
def make_runner(session_factory: Any, feed_server: FeedServer, http: httpx.AsyncClient) -> Any:
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    def make(queue: Any = None, **overrides: Any) -> SyncRunner:
        values = {
            "environment": "test",
            "tk_syncfeed_url": feed_server.url,
            "tk_request_interval": 0.0,
            "tk_backoff_base": 0.5,
            "tk_backoff_max": 30.0,
            "tk_max_retries": 3,
            "tk_request_timeout": 5.0,
            "log_json": False,
            **overrides,
        }
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        client = FeedClient.from_settings(http, settings)
        client.sleep = no_sleep  # backoff waits are recorded, not slept: no timing in the tests
        runner = SyncRunner(session_factory, client, settings, queue=queue)
        runner.waits = waits  # type: ignore[attr-defined]
        return runner

    return make
