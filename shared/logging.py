"""Structured JSON logs (structlog over the standard library), with the request id bound per request, the job
name and id per job run (services/worker/registry.py), and the trace id when tracing is on (shared/tracing.py)."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from shared.signals.privacy import redact_bsn
from shared.tracing import add_trace_id


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_bsn(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def redact_bsn_processor(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """No BSN in a log line: every string of the event (a path, a header, an exception text) through the screen."""
    return {key: _redact(value) for key, value in event.items()}


_configured: tuple[str, bool] | None = None  # what configure_logging last set up in this process


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Set up structlog and the root handler; again with the same arguments it does nothing (the worker's
    start-up calls it in a process whose logging is set up already: a new configuration would replace the
    processor list that loggers cached on first use hold, and structlog's capture_logs would miss them)."""
    global _configured
    if _configured == (level.upper(), json):
        return
    _configured = (level.upper(), json)
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_id,  # trace_id and span_id, only inside a span (tracing on)
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        # Level first: a filtered-out line (the access log at WARNING) costs nothing more.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_bsn_processor,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "alembic.runtime.plugins"):  # the latter: one line per plugin on import
        logging.getLogger(noisy).setLevel(logging.WARNING)
