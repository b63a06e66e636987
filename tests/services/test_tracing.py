"""Tracing: a request's trace (FastAPI and SQLAlchemy spans) continues into the job it enqueues, run by the real
arq worker (built from WorkerSettings, its on_startup included) against Redis and PostgreSQL; spans are caught by
the SDK's own in-memory exporter. With tracing off nothing is added to a job. Log lines carry the trace id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.worker import get_kwargs
from asgi_lifespan import LifespanManager
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.api.app import create_app
from services.worker.queue import InProcessQueue, redis_settings
from shared.commitments.events import RECALCULATE_JOB
from shared.settings import get_settings
from shared.tracing import TRACE_KEY, add_trace_id, build_provider, inject
from tests.services.real import own_database, queue_idle, redis_server, settings_for, wait_until, writer_key

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
async def world(backend: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    url, engine = await own_database("tracing")
    with redis_server() as server:
        for name, value in {
            "NAKOMING_DATABASE_URL": url,
            "NAKOMING_REDIS_URL": server.url,
            "NAKOMING_JOB_BACKEND": "arq",
            "NAKOMING_ENVIRONMENT": "test",
            "NAKOMING_LOG_LEVEL": "WARNING",
            "NAKOMING_LOG_JSON": "false",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield {"url": url, "engine": engine, "redis": server}
        finally:
            get_settings.cache_clear()
            await engine.dispose()


async def test_a_request_trace_continues_into_its_job_on_the_arq_worker(
    world: dict[str, Any], provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    from services.worker.settings import WorkerSettings
    from services.worker.worker import NakomingWorker

    settings = settings_for(world["url"], world["redis"].url, "arq")
    headers = await writer_key(world["engine"])
    app = create_app(settings, tracer_provider=provider)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        r = await client.post("/v1/commitments", json={"title": "Getraceerde toezegging"}, headers=headers)
        assert r.status_code == 201, r.text
    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.name == "POST /v1/commitments" and s.parent is None)
    trace_id = server.context.trace_id
    request_spans = {s.context.span_id for s in spans if s.context.trace_id == trace_id}
    assert any(
        s.attributes.get("db.system") == "postgresql" and s.context.trace_id == trace_id for s in spans
    )

    redis = world["redis"].client()
    queued = await redis.keys(f"arq:job:{RECALCULATE_JOB}:*")
    assert len(queued) == 1 and b"traceparent" in await redis.get(
        queued[0]
    )  # the context rides in the kwargs

    kwargs = get_kwargs(WorkerSettings)
    kwargs.update(
        redis_settings=redis_settings(world["redis"].url),
        handle_signals=False,
        cron_jobs=[],
        ctx={"tracer_provider": provider},
        poll_delay=0.05,
    )
    worker = NakomingWorker(**kwargs)
    running = asyncio.create_task(worker.async_run())
    try:
        await wait_until(lambda: queue_idle(redis), 30, "the job to run")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
        await redis.aclose()
    spans = exporter.get_finished_spans()
    job = next(s for s in spans if s.name == f"job {RECALCULATE_JOB}")
    assert job.context.trace_id == trace_id  # one trace from the request to the job
    assert job.parent is not None and job.parent.span_id in request_spans
    assert job.status.is_ok or job.status.status_code.name == "UNSET"
    # the job's own queries are spans of the job (the worker's engine is instrumented in on_startup)
    assert any(
        s.parent is not None
        and s.parent.span_id == job.context.span_id
        and s.attributes.get("db.system") == "postgresql"
        for s in spans
    )


async def test_without_tracing_nothing_is_added() -> None:
    settings = settings_for("sqlite+aiosqlite:///:memory:", "redis://127.0.0.1:6379/6", "inprocess")
    assert build_provider(settings, "nakoming-api") is None
    assert inject({"commitment_id": "x"}) == {"commitment_id": "x"}  # no span, no context to carry
    ran: list[dict[str, Any]] = []

    async def record(ctx: dict[str, Any], **kwargs: Any) -> None:
        ran.append(kwargs)

    queue = InProcessQueue({}, {"test.job": record}, eager=False)
    await queue.enqueue("test.job", job_id="test.job:1", key="1")
    assert TRACE_KEY not in queue.pending[0].kwargs


def test_log_lines_carry_the_trace_id_inside_a_span(provider: TracerProvider) -> None:
    assert "trace_id" not in add_trace_id(None, "info", {"event": "outside"})
    with provider.get_tracer("test").start_as_current_span("work") as span:
        event = add_trace_id(None, "info", {"event": "inside"})
        carried = inject({"k": 1})
    assert event["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert carried[TRACE_KEY]["traceparent"].split("-")[1] == event["trace_id"]


def test_the_standard_otlp_variable_turns_tracing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    settings = settings_for("sqlite+aiosqlite:///:memory:", "redis://127.0.0.1:6379/6", "inprocess")
    provider = build_provider(settings, "nakoming-api")
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "nakoming-api"
    provider.shutdown()
