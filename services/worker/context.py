"""The context every job receives, built once per worker process (or per embedded app)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, create_session_factory
from shared.settings import Settings
from shared.tracing import instrument_http


async def build_context(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    session_factory: Any = None,
    tracer_provider: Any = None,
) -> dict[str, Any]:
    """`tracer_provider` (tracing on): jobs run in spans and the feed client's requests are traced."""
    owns_engine = engine is None and session_factory is None
    if owns_engine:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    http = httpx.AsyncClient(
        timeout=settings.tk_request_timeout,
        headers={"User-Agent": "nakoming-sync/0.1 (+https://nakoming.nl)"},
    )
    if tracer_provider is not None:
        instrument_http(http, tracer_provider)
    return {
        "settings": settings,
        "engine": engine,
        "session_factory": session_factory or create_session_factory(engine),
        "http": http,
        "tracer_provider": tracer_provider,
        "_owns_engine": owns_engine,
    }


async def close_context(ctx: dict[str, Any]) -> None:
    await ctx["http"].aclose()
    if ctx.get("_owns_engine") and ctx.get("engine") is not None:
        await ctx["engine"].dispose()
