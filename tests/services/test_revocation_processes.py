"""A revoked API key, a revoked OAuth2 client and its access token stop working within 5 seconds on every API
process, though each process remembers checked credentials for NAKOMING_AUTH_CACHE_SECONDS (10 s by default, 120 s here).

Real processes on one PostgreSQL database: the API in this process, `nakoming serve` in a subprocess, and the
revocations made by `nakoming keys revoke` / `nakoming clients revoke` in processes of their own."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.auth.clients import create_client
from shared.auth.service import create_api_key
from shared.db import create_session_factory, session_scope
from tests.conftest import REDIS_URL
from tests.services.real import ROOT, api, own_database, settings_for, wait_until, worker_env

ISSUER = "https://nakoming.test"  # both processes issue and accept the same tokens
LIMIT = 5.0
# Each process would trust a checked credential this long without the revocation watcher: far past LIMIT, so only
# the watcher can make this test pass, however long the CLI takes to start.
CACHE_SECONDS = "120"


def _free_port() -> int:
    """A port the system chose (other test runs on this machine take theirs from NAKOMING_TEST_PORTS)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_revocation_reaches_every_process_within_5_seconds(backend: str, tmp_path: Path) -> None:
    url, engine = await own_database("revocation")
    env = worker_env(
        url,
        REDIS_URL,
        NAKOMING_OAUTH_ISSUER=ISSUER,
        NAKOMING_LOG_LEVEL="WARNING",
        NAKOMING_AUTH_CACHE_SECONDS=CACHE_SECONDS,
    )
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    other = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        async with session_scope(create_session_factory(engine)) as session:
            key, raw = await create_api_key(session, name="revocation test", scopes=["read", "write"])
            client, secret = await create_client(session, name="revocation test", scopes=["read", "write"])
        async with (
            api(
                settings_for(
                    url, REDIS_URL, "inprocess", oauth_issuer=ISSUER, auth_cache_seconds=float(CACHE_SECONDS)
                )
            ) as here,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as there,
        ):

            async def ready() -> bool:
                try:
                    return (await there.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    assert other.poll() is None, (tmp_path / "serve.log").read_text()
                    return False

            await wait_until(ready, 90, "nakoming serve to start")
            r = await there.post(
                "/v1/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client.client_id, secret or ""),
            )
            assert r.status_code == 200, r.text
            credentials = {
                "key": {"Authorization": f"Bearer {raw}"},
                "token": {"Authorization": f"Bearer {r.json()['access_token']}"},
            }
            processes = {"this process": here, "nakoming serve": there}
            for who, http in processes.items():  # each process checks and remembers each credential
                for name, headers in credentials.items():
                    r = await http.post(
                        "/v1/commitments", json={"title": f"{name} via {who}"}, headers=headers
                    )
                    assert r.status_code == 201, (who, name, r.text)

            await asyncio.to_thread(_cli, "keys", "revoke", str(key.id), env=env)
            await asyncio.to_thread(_cli, "clients", "revoke", client.client_id, env=env)
            revoked_at = time.monotonic()
            refused: dict[
                tuple[str, str], float
            ] = {}  # (process, credential) -> seconds after the revocation

            async def all_refused() -> bool:
                for who, http in processes.items():
                    for name, headers in credentials.items():
                        if (who, name) in refused:
                            continue
                        r = await http.post(
                            "/v1/commitments", json={"title": "after revocation"}, headers=headers
                        )
                        assert r.status_code in (201, 401), r.text
                        if r.status_code == 401:
                            refused[(who, name)] = time.monotonic() - revoked_at
                return len(refused) == len(processes) * len(credentials)

            await wait_until(
                all_refused, LIMIT, "every process to refuse the revoked key and token", step=0.05
            )
            assert all(delay < LIMIT for delay in refused.values()), refused
    finally:
        other.terminate()
        other.wait(30)
        log.close()
        await engine.dispose()
