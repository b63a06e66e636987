"""What the server itself answers before the app sees a request (uvicorn with services/api/protocol.py, as
`nakoming serve` and `nakoming run` start it): a URL too long for its parser is a 414 problem, anything else it
cannot parse a 400 problem, both with an X-Request-ID (it was uvicorn's plain-text 400)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
import uvicorn

from services.api.protocol import ProblemHttpToolsProtocol


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return answer


def _parse(answer: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, orjson.loads(body)


async def test_the_server_answers_what_it_refuses_as_problems(app: Any) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, http=ProblemHttpToolsProtocol)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        for size in (9_000, 70_000, 121_000):  # the app's own limit, and beyond the parser's
            answer = await _exchange(
                port, b"GET /v1/commitments?q=" + b"a" * size + b" HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            status, headers, body = _parse(answer)
            assert status == 414 and headers["content-type"] == "application/problem+json", (
                size,
                answer[:300],
            )
            assert body["type"].endswith("/uri-too-long") and body["status"] == 414
            assert headers["x-request-id"]
        status, headers, body = _parse(await _exchange(port, b"NOT HTTP AT ALL\r\n\r\n"))
        assert status == 400 and headers["content-type"] == "application/problem+json"
        assert body["request_id"] == headers["x-request-id"] and body["type"].endswith("/bad-request")
    finally:
        server.should_exit = True
        await task
        sock.close()
