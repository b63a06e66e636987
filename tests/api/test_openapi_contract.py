"""Walks /openapi.json and holds every operation to what generated clients rely on (issue 12), so the next
endpoint cannot quietly leave a hole: descriptions, problem+json errors, security, headers, enums, examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.api.errors import PROBLEM_JSON
from services.api.openapi import OAUTH2_SCHEME, SECURITY_SCHEME
from shared.auth.service import Scope
from shared.signals.batches import LIST_COLUMNS, csv_format

README = Path(__file__).resolve().parents[2] / "README.md"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]
    assert len(ops) > 60
    return ops


def walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_every_operation_is_described_and_secured(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"][SECURITY_SCHEME] == {
        **spec["components"]["securitySchemes"][SECURITY_SCHEME],
        "type": "http",
        "scheme": "bearer",
    }
    flow = spec["components"]["securitySchemes"][OAUTH2_SCHEME]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v1/oauth/token" and set(flow["scopes"]) == {s.value for s in Scope}
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("description"), where
        assert "security" in op, where
        responses = op["responses"]
        if any(SECURITY_SCHEME in requirement for requirement in op["security"]):
            assert op["x-scopes"], where
            assert {"401", "403"} <= set(responses), where
            assert "**Access:**" in op["description"], where
            # an OAuth2 token with any one of the scopes will do, as an API key with one of them does
            oauth = [r[OAUTH2_SCHEME] for r in op["security"] if OAUTH2_SCHEME in r]
            assert sorted(oauth) == sorted([s] for s in {*op["x-scopes"], "admin"}), where
            assert "WWW-Authenticate" in responses["401"]["headers"], where
        elif path == "/v1/oauth/token":
            assert op["security"] == [{"clientBasic": []}, {}], (
                where
            )  # Basic, or a client_assertion in the body
        else:  # everything else may need a key
            assert path in (
                "/healthz",
                "/readyz",
                "/.well-known/jwks.json",
                "/.well-known/oauth-authorization-server",
            ), where
        for param in op.get("parameters", []):
            assert param.get("description"), (where, param["name"])
            assert "null" not in str(param["schema"].get("type")) and not any(
                o.get("type") == "null" for o in param["schema"].get("anyOf", [])
            ), (where, param["name"])
            if param["name"] == "sort":
                assert param["schema"]["enum"], where
                assert all(
                    value.lstrip("-") in {v.lstrip("-") for v in param["schema"]["enum"]}
                    for value in param["schema"]["enum"]
                )


def test_every_response_is_described_with_its_headers(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        idempotent = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        for code, response in op["responses"].items():
            description = response.get("description", "")
            assert description and description != "Successful Response", (where, code)
            headers = response.get("headers", {})
            assert "X-Request-ID" in headers, (where, code)
            if code in ("429", "503") and path != "/readyz":  # readiness reports; it sets no retry hint
                assert "Retry-After" in headers, (where, code)
            if idempotent and code.startswith("2"):
                assert "Idempotent-Replayed" in headers, (where, code)
            if path == "/v1/oauth/token" and code in (
                "400",
                "401",
            ):  # RFC 6749 §5.2, what OAuth2 clients parse
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorBody"}}
                }, (where, code)
            elif int(code) >= 400 and path != "/readyz":
                assert response["content"] == {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (where, code)
    creates = [
        (p, op) for p, m, op in operations(spec) if m == "post" and op["operationId"].endswith("-create")
    ]
    for path, op in creates:
        created = op["responses"].get("201") or op["responses"].get("202")
        if (
            op["operationId"] != "sync-runs-create"
        ):  # enqueues one job per category: no one resource to point at
            assert created and "Location" in created["headers"], path
    gets = [op for p, m, op in operations(spec) if m == "get" and p.endswith("/{id}")]
    assert gets and all("ETag" in op["responses"]["200"]["headers"] for op in gets)


def test_every_request_body_has_examples_and_400_when_json(spec: dict[str, Any]) -> None:
    bodies = 0
    for path, method, op in operations(spec):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            bodies += 1
            assert media.get("examples") or media.get("example"), (method, path, media_type)
            if media_type == "application/json":
                assert "400" in op["responses"], (method, path)
    assert bodies >= 20


def test_components_have_readable_names_and_honest_limits(spec: dict[str, Any]) -> None:
    names = set(spec["components"]["schemas"])
    assert not [n for n in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", n)]
    assert "CommitmentPage" in names and "HTTPValidationError" not in names
    for node in walk(spec):
        if isinstance(node, dict) and node.get("pattern"):
            assert node.get("maxLength") != 20_000, node


def test_batch_format_is_documented_in_the_api_and_the_readme(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/v1/signals/batches"]["post"]["requestBody"]
    assert body["description"] == csv_format()
    assert {"text/csv", "application/x-ndjson"} <= set(body["content"])
    assert "bejegening;sociale-veiligheid" in body["content"]["text/csv"]["example"]
    assert all(f"`{column}`" in body["description"] for column in LIST_COLUMNS)
    readme = " ".join(line.removeprefix("> ") for line in README.read_text().splitlines())
    assert " ".join(csv_format().split()) in " ".join(readme.split())
