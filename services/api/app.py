"""The API application: create_app() wires settings, database, queue and routers in a lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api import board, idempotency, openapi
from services.api.deps import PrincipalCache
from services.api.errors import install_error_handlers
from services.api.language import LanguageMiddleware
from services.api.lifecycle import watch_sigterm
from services.api.metrics import database_figures
from services.api.middleware import BodyGuardMiddleware, RequestIdMiddleware, body_routes
from services.api.query import document_query_models
from services.api.ratelimit import RateLimiter
from services.api.revocation import RevocationWatcher
from services.api.routers import (
    audit,
    commitments,
    events,
    exports,
    fulfilment,
    health,
    metrics,
    milestones,
    oauth,
    resources,
    signals,
    status,
    themes,
    webhooks,
)
from services.api.routers import tk as tk_routes
from shared.auth.oidc import JwksCache, People
from shared.auth.tokens import SignerSource
from shared.db import create_engine, create_session_factory
from shared.jobs import JobQueue
from shared.logging import configure_logging
from shared.metrics import process_ended, serve_port, track_pool
from shared.metrics import registry as metrics_registry
from shared.pg import RawDatabase, RawPool, is_raw_capable
from shared.settings import Settings, get_settings
from shared.tracing import build_provider, instrument_app, instrument_engine, uninstrument_engines

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
    handle_signals: bool = False,
    tracer_provider: Any = None,
) -> FastAPI:
    """The application. `handle_signals` (a served process: `asgi()`, `nakoming run`) makes SIGTERM turn readiness
    false at once (services/api/lifecycle.py); `tracer_provider` replaces the one built from the settings
    (shared/tracing.py; tests give an in-memory exporter)."""
    settings = settings or get_settings()
    built_provider = None if tracer_provider is not None else build_provider(settings, "nakoming-api")
    tracer_provider = tracer_provider or built_provider

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: list[Any] = []
        app.state.settings = settings
        app.state.draining = False
        app.state.engine = engine or create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        if engine is None:
            owned.append(app.state.engine)
        if tracer_provider is not None:
            instrument_engine(app.state.engine, tracer_provider)
            owned.append(_Closing(uninstrument_engines))
            if built_provider is not None:
                owned.append(_Closing(built_provider.shutdown))  # flushes the spans still batched
        owned.append(_Closing(track_pool(app.state.engine)))
        app.state.session_factory = session_factory or create_session_factory(app.state.engine)
        app.state.raw_db = raw_db
        if raw_db is None and settings.fast_path and is_raw_capable(settings.database_url):
            app.state.raw_db = await RawPool.open(settings.database_url, settings.database_pool_size)
            owned.append(app.state.raw_db)
        app.state.principal_cache = (
            PrincipalCache(settings.auth_cache_seconds) if settings.auth_cache_seconds else None
        )
        if app.state.principal_cache is not None:
            watcher = RevocationWatcher(
                app.state.engine, app.state.principal_cache, settings.auth_revocation_poll_seconds
            )
            await watcher.start()
            owned.append(watcher)
        app.state.signers = SignerSource(settings, app.state.session_factory)
        if app.state.signers.load_now:
            await app.state.signers.get()
        app.state.people = None
        if settings.oidc_issuers:
            keys = JwksCache(
                httpx.AsyncClient(timeout=10.0, follow_redirects=False),
                keep_seconds=settings.oidc_jwks_cache_seconds,
                refresh_seconds=settings.oidc_jwks_refresh_seconds,
            )
            owned.append(keys)
            app.state.people = People(settings, keys)
        app.state.queue = queue
        if queue is None:
            app.state.queue = await _default_queue(settings, app)
            owned.append(app.state.queue)
        app.state.rate_limiter = RateLimiter.from_url(settings.redis_url, settings.rate_limit_per_minute)
        owned.append(app.state.rate_limiter)
        app.state.auth_failure_limiter = RateLimiter.from_url(
            settings.redis_url, settings.auth_failures_per_minute, prefix="nakoming:authfail"
        )
        owned.append(app.state.auth_failure_limiter)
        app.state.database_figures = database_figures(
            app.state.session_factory, settings.metrics_cache_seconds
        )
        app.state.database_figures.bind(asyncio.get_running_loop())
        app.state.metrics_registry = metrics_registry(app.state.database_figures)
        owned.append(_Closing(process_ended))
        if settings.metrics_port:
            port_server = serve_port(settings.metrics_port, app.state.metrics_registry)
            if port_server is not None:
                owned.append(_Closing(port_server.shutdown))
        if handle_signals:
            owned.append(_Closing(watch_sigterm(app.state)))
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
                if isinstance(resource, _Closing):
                    resource.close()
                elif hasattr(resource, "dispose"):
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
        openapi_tags=[
            {"name": t}
            for t in (
                "commitments",
                "recommendations",
                "actions",
                "milestones",
                "parties",
                "sources",
                "themes",
                "tk",
                "sync",
                "signals",
                "events",
                "webhooks",
                "exports",
                "audit",
                "oauth",
                "health",
            )
        ],
    )
    app.state.settings = settings
    app.state.tracer_provider = tracer_provider
    # The hot paths first: a request is matched against the routes in this order (signal intake, lists).
    routers = [
        health.router,
        metrics.router,
        oauth.router,
        signals.router,
        commitments.router,
        status.router,
        fulfilment.router,
        resources.recommendations,
        resources.actions,
        milestones.router,
        resources.parties,
        resources.sources,
        themes.router,
        tk_routes.tk,
        tk_routes.sync,
        exports.router,
        events.router,
        webhooks.router,
        audit.router,
        audit.changes,
    ]
    # Every API route, flat (FastAPI keeps included routers nested): for the body guard and 405's Allow.
    app.state.api_routes = [r for router in routers for r in router.routes]
    install_error_handlers(app)
    idempotency.install(app)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(
        BodyGuardMiddleware,
        settings=settings,
        batch_path="/v1/signals/batches",
        # The token endpoint authenticates in its body (private_key_jwt), not with a header.
        routes=body_routes([r for r in app.state.api_routes if r not in oauth.router.routes]),
    )
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After", "Idempotent-Replayed"],
        )
    for router in routers:
        app.include_router(router)
    app.include_router(board.router)
    document_query_models(app, routers)
    openapi.install(app)
    if tracer_provider is not None:
        instrument_app(app, tracer_provider)
    return app


class _Closing:
    """Something the lifespan undoes at shutdown with a plain call (a listener, a thread server, a flush)."""

    def __init__(self, close: Any) -> None:
        self.close = close


async def _default_queue(settings: Settings, app: FastAPI) -> Any:
    if settings.job_backend == "inprocess":
        from services.worker.context import build_context
        from services.worker.queue import InProcessQueue
        from services.worker.registry import load_all

        ctx = await build_context(
            settings,
            engine=app.state.engine,
            session_factory=app.state.session_factory,
            tracer_provider=app.state.tracer_provider,
        )
        queue = InProcessQueue(ctx, load_all())
        ctx["queue"] = queue
        return queue
    from services.worker.queue import ArqQueue

    return await ArqQueue.connect(settings.redis_url)


def asgi() -> FastAPI:
    """Factory for `uvicorn --factory services.api.app:asgi`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings, handle_signals=True)
