"""A minimal webhook receiver for the benchmark: counts POSTs (no signature check: that is the receiver's cost,
not ours). Run: python -m uvicorn bench.events.receiver:app --port N"""

from __future__ import annotations

from typing import Any

count = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global count
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    if scope["method"] == "POST":
        count += 1
        body = b""
    else:
        body = str(count).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200 if body else 204,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
