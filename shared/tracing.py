"""OpenTelemetry tracing, off unless an OTLP endpoint is configured.

NAKOMING_OTLP_ENDPOINT (or the standard OTEL_EXPORTER_OTLP_ENDPOINT) turns it on: spans go over OTLP/HTTP in
batches. The provider is an object each process builds and passes on (app.state, the job context), never the
global one, so a test can give an app its own in-memory exporter.

A request's trace continues into the jobs it enqueues: the queue writes the current trace context (W3C
`traceparent`) into the job's kwargs under TRACE_KEY, and the job registry (services/worker/registry.py) pops it
and runs the job in a span whose parent it is. A job enqueued without it (tracing off, or from a cron schedule)
starts a trace of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from shared.settings import Settings

TRACE_KEY = "_trace"  # the job kwarg that carries the enqueuing request's trace context


def otlp_endpoint(settings: Settings) -> str | None:
    return settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None


def build_provider(
    settings: Settings, service: str, *, processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """A tracer provider for this process (`service`: nakoming-api or nakoming-worker), or None when tracing
    is off. `processor` replaces the OTLP exporter (tests: the SDK's in-memory exporter)."""
    endpoint = otlp_endpoint(settings)
    if processor is None:
        if endpoint is None:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The standard variable names the collector's base address; our own setting is the traces URL itself.
        url = endpoint if settings.otlp_endpoint else endpoint.rstrip("/") + "/v1/traces"
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url))
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "deployment.environment": settings.environment})
    )
    provider.add_span_processor(processor)
    return provider


def inject(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The job kwargs with the current trace context added, when there is one (tracing on, inside a span)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return kwargs
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {**kwargs, TRACE_KEY: carrier} if carrier else kwargs


@contextmanager
def job_span(
    provider: TracerProvider | None, name: str, job_id: str | None, carrier: dict[str, str] | None
) -> Iterator[Span | None]:
    """The span one job run lives in, a child of the request that enqueued it when `carrier` says which."""
    if provider is None:
        yield None
        return
    parent = propagate.extract(carrier) if carrier else otel_context.Context()
    tracer = provider.get_tracer("nakoming.jobs")
    with tracer.start_as_current_span(
        f"job {name}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "arq",
            "messaging.operation": "process",
            "nakoming.job.name": name,
            "messaging.message.id": job_id or "",
        },
        record_exception=True,
        set_status_on_exception=True,
    ) as span:
        yield span


def mark_failed(span: Span | None, exc: BaseException) -> None:
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def add_trace_id(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the trace and span id of the current span, when tracing is on and one is active."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event["trace_id"] = format(span_context.trace_id, "032x")
        event["span_id"] = format(span_context.span_id, "016x")
    return event


def instrument_app(app: Any, provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics")


def instrument_engine(engine: Any, provider: TracerProvider) -> Any:
    """Spans for every SQL statement of this engine; call `uninstrument_engines()` when it is disposed."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    instrumentor = SQLAlchemyInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(engine=engine.sync_engine, tracer_provider=provider)
    return instrumentor


def uninstrument_engines() -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def instrument_http(client: Any, provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
