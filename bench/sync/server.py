"""The generated feed over HTTP on loopback: `python bench/sync/server.py PORT TOTAL` (run by run.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import feedgen


def make_app(total: int) -> Any:
    n = feedgen.counts(total)
    # Generated once up front, so serving a page is a slice and a join: the benchmark measures the sync,
    # not this generator (which shares the two cores).
    entries = {c: [feedgen.entry(c, i, n) for i in range(count)] for c, count in n.items()}

    def page(category: str, skiptoken: int | None) -> bytes:
        start = 0 if skiptoken is None else max(0, skiptoken - feedgen.TOKEN_BASE + 1)
        return feedgen.t.page_xml(category, entries[category][start : start + 250])

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        category = query.get("category", [""])[0]
        token = query.get("skiptoken", [None])[0]
        body = page(category, int(token) if token else None) if category in n else b"not found"
        await send(
            {
                "type": "http.response.start",
                "status": 200 if category in n else 404,
                "headers": [
                    (b"content-type", b"application/atom+xml"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        make_app(int(sys.argv[2])),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
