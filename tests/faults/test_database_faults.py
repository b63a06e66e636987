"""Database connection errors of every kind are a 503 with Retry-After, never a 500 (issue 10), on the session
path and the raw asyncpg path. The faults are real: a server that answers like a PostgreSQL still starting
up (CannotConnectNowError), a closed port, and backends terminated while requests run. The machine's shared
PostgreSQL server is never stopped."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.api.app import create_app
from shared.pg import is_connection_error
from tests.faults.test_infrastructure import _terminate_backends

pytestmark = pytest.mark.postgres_only


def _error_response(code: str, message: str) -> bytes:
    fields = b"".join(
        k + v.encode() + b"\0" for k, v in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    payload = fields + b"\0"
    return b"E" + struct.pack("!i", len(payload) + 4) + payload


async def _starting_up_server(port: int) -> asyncio.AbstractServer:
    """Speaks just enough of the PostgreSQL protocol to refuse every connection with SQLSTATE 57P03."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = struct.unpack("!i", await reader.readexactly(4))[0]
                body = await reader.readexactly(length - 4)
                if struct.unpack("!i", body[:4])[0] == 80877103:  # SSLRequest: no TLS here
                    writer.write(b"N")
                    await writer.drain()
                    continue
                writer.write(_error_response("57P03", "the database system is starting up"))
                await writer.drain()
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def test_database_starting_up_is_503(settings: Any, backend: str) -> None:
    server = await _starting_up_server(18301)
    try:
        with pytest.raises(asyncpg.CannotConnectNowError):  # the fault is what it claims to be
            await asyncpg.connect("postgresql://postgres@127.0.0.1:18301/x")
        app = create_app(
            settings.model_copy(update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:18301/none"})
        )
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            for path in ("/v1/commitments", "/v1/themes", "/v1/signals/stats"):  # raw pool, sessions
                r = await c.get(path)
                assert r.status_code == 503, (path, r.text)
                assert r.headers["retry-after"] and r.headers["content-type"] == "application/problem+json"
    finally:
        server.close()
        await server.wait_closed()


async def test_backends_terminated_while_requests_run(settings: Any, backend: str, make_key: Any) -> None:
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        statuses: list[int] = []

        async def load() -> None:
            for _ in range(30):
                for path in ("/v1/commitments", "/v1/themes", "/v1/parties"):
                    r = await c.get(path)
                    statuses.append(r.status_code)
                    if r.status_code == 503:
                        assert r.headers["retry-after"]

        async def kill() -> None:
            for _ in range(5):
                await asyncio.sleep(0.02)
                await _terminate_backends(settings.database_url)

        await asyncio.gather(load(), load(), load(), kill())
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) > 0


def test_every_kind_of_connection_error_is_recognised() -> None:
    from sqlalchemy.exc import DBAPIError

    for exc in (
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.exceptions.InternalClientError("x"),
        ConnectionRefusedError(),
        PoolTimeout("pool"),
        TimeoutError(),
        DBAPIError(
            "SELECT 1",
            None,
            asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
            connection_invalidated=True,
        ),
    ):
        assert is_connection_error(exc), exc
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = asyncpg.CannotConnectNowError("starting up")
    assert is_connection_error(wrapped)
    assert not is_connection_error(asyncpg.UniqueViolationError("dup"))
    assert not is_connection_error(ValueError("bad"))
