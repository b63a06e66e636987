"""Cross-cutting behaviour: health, request ids, OpenAPI, CORS, private reads."""

from __future__ import annotations

import re
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from services.api.app import create_app


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_request_id_round_trip(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/commitments", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/v1/commitments/not-a-uuid")
    assert len(r.headers["x-request-id"]) == 32
    assert r.json()["request_id"] == r.headers["x-request-id"]
    r = await client.get("/v1/commitments", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


async def test_openapi_has_stable_operation_ids_and_problem_schema(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"commitments-list", "commitments-create", "milestones-get", "measurements-create"} <= ops
    create = spec["paths"]["/v1/commitments"]["post"]
    assert "application/problem+json" in create["responses"]["422"]["content"]
    assert "Problem" in spec["components"]["schemas"]
    example_schema = spec["components"]["schemas"]["CommitmentCreate"]
    assert example_schema.get("examples")
    # Parameters that dependencies read themselves are documented like FastAPI's own.
    listing = {p["name"]: p for p in spec["paths"]["/v1/commitments"]["get"]["parameters"]}
    assert {"limit", "cursor", "sort", "theme", "status", "q"} <= set(listing)
    headers = {
        (path, method): p
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
        if p["in"] == "header" and p["name"] == "Idempotency-Key"
    }
    assert headers[("/v1/signals", "post")]["required"] is True
    assert headers[("/v1/commitments", "post")]["required"] is False
    assert ("/v1/commitments", "get") not in headers


async def test_unknown_route_is_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_private_reads_and_cors(
    settings: Any, connection: Any, session_factory: Any, queue: Any, make_key: Any
) -> None:
    private = settings.model_copy(update={"public_read": False, "cors_origins": ["https://app.example"]})
    app = create_app(private, engine=connection.engine, session_factory=session_factory, queue=queue)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        assert (await c.get("/v1/commitments")).status_code == 401
        assert (await c.get("/v1/commitments/counts")).status_code == 401
        reader = await make_key(["read"])
        assert (await c.get("/v1/commitments", headers=reader)).status_code == 200
        signals_only = await make_key(["signals:write"])
        assert (await c.get("/v1/commitments", headers=signals_only)).status_code == 403
        r = await c.options(
            "/v1/commitments",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert r.headers["access-control-allow-origin"] == "https://app.example"


async def test_docs_work_offline(client: httpx.AsyncClient) -> None:
    """/docs and /redoc load every script, style and icon from the app itself (no CDN, no web fonts)."""
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        urls = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'")\s>]+)""", r.text)
        assert urls, page
        assert "http://" not in r.text and "https://" not in r.text, page
        for url in urls:
            assert url.startswith("/"), (page, url)
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url
