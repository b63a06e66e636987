"""Readiness turns false at SIGTERM (services/api/lifecycle.py): /readyz answers 503 `draining` from then on, and
the server's own SIGTERM handler still runs after ours. (tests/faults/test_shutdown.py: the real process.)"""

from __future__ import annotations

import os
import signal
import types
from typing import Any

import httpx

from services.api.lifecycle import watch_sigterm


async def test_readiness_is_false_once_draining(client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).status_code == 200
    client._transport.app.state.draining = True  # type: ignore[attr-defined]
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "not_ready", "checks": {"shutdown": "draining"}}
    assert (await client.get("/healthz")).status_code == 200  # alive: in-flight requests still finish


def test_sigterm_marks_draining_then_runs_the_servers_handler() -> None:
    seen: list[int] = []

    def server_handler(signum: int, _frame: Any) -> None:  # stands in for uvicorn's handle_exit
        seen.append(signum)

    original = signal.signal(signal.SIGTERM, server_handler)
    try:
        state = types.SimpleNamespace(draining=False)
        restore = watch_sigterm(state)
        os.kill(os.getpid(), signal.SIGTERM)
        assert state.draining is True and seen == [signal.SIGTERM]
        restore()
        assert signal.getsignal(signal.SIGTERM) is server_handler
    finally:
        signal.signal(signal.SIGTERM, original)
