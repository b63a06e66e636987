"""Fixtures shared by the API tests: signal themes, an intake key, the log lines a request writes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import create_theme


@pytest.fixture
async def themes(client: httpx.AsyncClient, admin: dict) -> None:
    for key in ("bejegening", "sociale-veiligheid", "continuiteit-bezetting"):
        await create_theme(client, admin, key)


@pytest.fixture
async def intake(make_key) -> dict:
    return await make_key(["signals:write"])


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the access log and the API log write, rendered by the configured formatter."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    loggers = [logging.getLogger(name) for name in ("nakoming.access", "nakoming.api", "nakoming.test")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
