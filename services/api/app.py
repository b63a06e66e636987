"""The API application: create_app() wires settings, database, queue and routers in a lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api import board, idempotency, openapi
from services.api.deps import PrincipalCache
from services.api.errors import install_error_handlers
from services.api.language import LanguageMiddleware
from services.api.middleware import BodyGuardMiddleware, RequestIdMiddleware, body_routes
from services.api.query import document_query_models
from services.api.ratelimit import RateLimiter
from services.api.routers import (
    audit, commitments, events, fulfilment, health, milestones, resources, signals, status, themes,
    webhooks,
)
from services.api.routers import tk as tk_routes
from shared.db import create_engine, create_session_factory
from shared.jobs import JobQueue
from shared.logging import configure_logging
from shared.pg import RawDatabase, RawPool, is_raw_capable
from shared.settings import Settings, get_settings

DOCS_ASSETS = "/docs/assets"
DESCRIPTION = """
Nakoming tracks the follow-up of Dutch care policy: recommendations from reports, commitments
(Tweede Kamer toezeggingen and promises by organisations), the actions taken on them, milestones
with dated numeric targets, and client signals.

* Lists return `{"items": [...], "next_cursor": ...}`; pass `cursor` back to get the next page.
* Errors are RFC 9457 `application/problem+json` with a stable `type`.
* Writes need `Authorization: Bearer <api key>`; reads are public unless the operator turned that off.
* GET returns an `ETag`; send it as `If-Match` on PATCH/DELETE to avoid lost updates (412 when it changed).
"""


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    session_factory: Any = None,
    queue: JobQueue | None = None,
    raw_db: RawDatabase | None = None,
    run_schedules: bool = False,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: list[Any] = []
        app.state.settings = settings
        app.state.engine = engine or create_engine(settings.database_url, pool_size=settings.database_pool_size)
        if engine is None:
            owned.append(app.state.engine)
        app.state.session_factory = session_factory or create_session_factory(app.state.engine)
        app.state.raw_db = raw_db
        if raw_db is None and settings.fast_path and is_raw_capable(settings.database_url):
            app.state.raw_db = await RawPool.open(settings.database_url, settings.database_pool_size)
            owned.append(app.state.raw_db)
        app.state.principal_cache = PrincipalCache(settings.auth_cache_seconds) if settings.auth_cache_seconds else None
        app.state.queue = queue
        if queue is None:
            app.state.queue = await _default_queue(settings, app)
            owned.append(app.state.queue)
        app.state.rate_limiter = RateLimiter.from_url(settings.redis_url, settings.rate_limit_per_minute)
        owned.append(app.state.rate_limiter)
        app.state.auth_failure_limiter = RateLimiter.from_url(settings.redis_url, settings.auth_failures_per_minute,
                                                              prefix="nakoming:authfail")
        owned.append(app.state.auth_failure_limiter)
        scheduler = None
        if run_schedules:
            from services.worker.scheduler import InProcessScheduler

            scheduler = InProcessScheduler(app.state.queue, settings)
            scheduler.start()
        # Everything built so far lives as long as the process: keep the cyclic GC from rescanning it
        # on every collection (shorter pauses, a better p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            for resource in reversed(owned):
                if hasattr(resource, "dispose"):
                    await resource.dispose()
                else:
                    await resource.close()

    # Swagger UI (/docs) and ReDoc (/redoc) load their scripts and styles from the app itself (the assets ship
    # in the fastapi-offline package), so the docs work without internet, e.g. in the offline embedded default.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="Nakoming API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[{"name": t} for t in (
            "commitments", "recommendations", "actions", "milestones", "parties", "sources", "themes", "tk", "sync",
            "signals", "events", "webhooks", "audit", "health")],
    )
    app.state.settings = settings
    # The hot paths first: a request is matched against the routes in this order (signal intake, lists).
    routers = [health.router, signals.router, commitments.router, status.router, fulfilment.router,
               resources.recommendations, resources.actions, milestones.router, resources.parties, resources.sources,
               themes.router, tk_routes.tk, tk_routes.sync, events.router, webhooks.router,
               audit.router]
    # Every API route, flat (FastAPI keeps included routers nested): for the body guard and 405's Allow.
    app.state.api_routes = [r for router in routers for r in router.routes]
    install_error_handlers(app)
    idempotency.install(app)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(BodyGuardMiddleware, settings=settings, batch_path="/v1/signals/batches",
                       routes=body_routes(app.state.api_routes))
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After",
                                                           "Idempotent-Replayed"])
    for router in routers:
        app.include_router(router)
    app.include_router(board.router)
    document_query_models(app, routers)
    openapi.install(app)
    return app


async def _default_queue(settings: Settings, app: FastAPI) -> Any:
    if settings.job_backend == "inprocess":
        from services.worker.context import build_context
        from services.worker.queue import InProcessQueue
        from services.worker.registry import load_all

        ctx = await build_context(settings, engine=app.state.engine, session_factory=app.state.session_factory)
        queue = InProcessQueue(ctx, load_all())
        ctx["queue"] = queue
        return queue
    from services.worker.queue import ArqQueue

    return await ArqQueue.connect(settings.redis_url)


def asgi() -> FastAPI:
    """Factory for `uvicorn --factory services.api.app:asgi`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
