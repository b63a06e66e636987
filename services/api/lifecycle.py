"""Shutdown of a served API process (`nakoming serve`, `nakoming run`).

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish for up to
NAKOMING_SHUTDOWN_GRACE_SECONDS (its `timeout_graceful_shutdown`), runs the lifespan's shutdown and returns.
Two things are added here:

* readiness turns false at the signal itself, before uvicorn's own handling: /readyz answers 503 `draining` on
  any connection still served, and the event is logged (`shutdown_started`);
* the process exits 0. uvicorn re-raises the signal it caught once it has shut down, after restoring the
  handler that was there before it started; with Python's default for SIGTERM that kills the process with the
  signal (exit 143), which an orchestrator reads as a crash. `exit_zero_on_sigterm()` installs that earlier
  handler: a clean exit.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

log = structlog.get_logger("nakoming.lifecycle")


def begin_draining(state: Any) -> None:
    """Readiness false from now on (what SIGTERM does first)."""
    if not getattr(state, "draining", False):
        state.draining = True
        log.info(
            "shutdown_started",
            ready=False,
            detail="no new connections; in-flight requests finish within NAKOMING_SHUTDOWN_GRACE_SECONDS",
        )


def watch_sigterm(state: Any) -> Callable[[], None]:
    """Chain `begin_draining` in front of the SIGTERM handler the server installed; returns what restores it.
    Call it on the main thread once the server runs (the lifespan's start-up does)."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        begin_draining(state)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore


def exit_zero_on_sigterm() -> None:
    """Before the server starts: a SIGTERM that reaches this handler (uvicorn's re-raise after its graceful
    shutdown, or a signal before it started) ends the process with status 0."""

    def leave(_signum: int, _frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, leave)
