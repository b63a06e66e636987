"""Fixtures for tests that sync against the recorded sample pages served by a real loopback feed server.

Import them into a test module (`from tests.tk_feed import feed, feed_server, settings`); `settings` then
overrides the suite's default so the app and jobs talk to that server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.settings import Settings
from shared.tk.testing import FakeFeed, FeedServer, load_directory

FIXTURES = Path(__file__).parent / "fixtures" / "tk"


@pytest.fixture
def feed() -> FakeFeed:
    feed = FakeFeed()
    load_directory(feed, FIXTURES)
    return feed


@pytest.fixture
def feed_server(feed: FakeFeed) -> Iterator[FeedServer]:
    with FeedServer(feed) as server:
        yield server


@pytest.fixture
def settings(engine: AsyncEngine, feed_server: FeedServer) -> Settings:
    return Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        job_backend="inprocess",
        log_json=False,
        tk_syncfeed_url=feed_server.url,
        tk_request_interval=0.0,
        tk_max_retries=0,
        _env_file=None,
    )  # type: ignore[call-arg]
