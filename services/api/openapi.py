"""The finishing pass over the generated OpenAPI document: what FastAPI cannot be told per route.

Every rule here holds for every operation, so a new endpoint gets it without a line of its own
(tests/api/test_openapi_contract.py walks the document and checks each of them):

* error responses (4xx, 5xx) are `application/problem+json` with the `Problem` schema, FastAPI's own 422
  (`HTTPValidationError`, `application/json`) included;
* an operation with a JSON request body documents `400 malformed-json`; every operation 414 (URL too long)
  and 503 (database unavailable), every one with a body 413;
* `security` per operation from the scope dependency it declares (`x-scopes` names the scopes, any of which
  will do), with 401/403 documented wherever a key may be needed; 429 wherever the rate limiter runs;
* `X-Request-ID` on every response, `Retry-After` on 429 and 503, `Idempotent-Replayed` on the success
  responses of operations that take an Idempotency-Key;
* each JSON request body carries its model's examples at media-type level;
* a parameter (query, path, header) is never documented as nullable: a URL or header cannot carry null.

Per route, `ok()` gives the success response its description and the headers that route sends.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.api.errors import ERROR_DESCRIPTIONS, PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SECURITY_SCHEME = "apiKey"
OAUTH2_SCHEME = "oauth2"
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The record's version; send it as `If-Match` on PATCH/DELETE.",
        "schema": {"type": "string", "example": '"3"'},
    },
    "Location": {"description": "Path of the created resource.", "schema": {"type": "string"}},
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response to an earlier request with the same "
        "Idempotency-Key (the handler did not run again).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Content-Disposition": {
        "description": "`attachment` with the file's name (an export).",
        "schema": {"type": "string", "example": 'attachment; filename="nakoming-commitments-20261201.csv"'},
    },
    "Cache-Control": {
        "description": "`no-store`: the response holds a credential or personal data.",
        "schema": {"type": "string", "example": "no-store"},
    },
    "WWW-Authenticate": {
        "description": "RFC 6750 (`Bearer ...`, with `error=\"invalid_token\"` for a rejected "
        "key or token, `error=\"insufficient_scope\"` on 403) or `Basic` on the "
        "token endpoint.",
        "schema": {"type": "string"},
    },
    "X-Request-ID": {
        "description": "The request's correlation id (the X-Request-ID sent, when valid); quote "
        "it when reporting a problem.",
        "schema": {"type": "string"},
    },
}
UNIVERSAL_ERRORS = (414, 503)  # a URL over MAX_URL_BYTES; the database unreachable
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
# Attributes a dependency callable carries to be documented here (set in services/api/deps.py, ratelimit.py).
SCOPES_ATTR = "__openapi_scopes__"  # list of scopes, any of which grants the operation
OPTIONAL_ATTR = "__openapi_public__"  # True: anonymous callers are let through unless reads are private
RATE_LIMITED_ATTR = "__openapi_rate_limited__"


def ok(description: str, *headers: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """A route's success response: its description and the response headers it sends (names in HEADERS)."""
    return {status: {"description": description, "headers": {name: HEADERS[name] for name in headers}}}


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
    if headers:
        out["headers"] = headers
    return out


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot carry null: `X | None` is documented as X, optional."""
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    if "anyOf" not in prop or len(options) == len(prop["anyOf"]):
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _is_problem(response: dict[str, Any]) -> bool:
    """An error response FastAPI or problem_responses() wrote (to be rendered as problem+json), not one a route
    declared with a model of its own (GET /readyz's 503 is its JSON report)."""
    refs = {
        media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        for media in response.get("content", {}).values()
    }
    return not refs - {"", "Problem", *_FASTAPI_VALIDATION}


def _json_media(operation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for kind, media in operation.get("requestBody", {}).get("content", {}).items():
        if kind == "application/json" or kind.endswith("+json"):
            yield media


def _dependencies(route: APIRoute) -> Iterator[Any]:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is not None:
            yield dependant.call
        stack.extend(dependant.dependencies)


def _access(route: APIRoute) -> tuple[list[str], bool, bool]:
    """(scopes any of which grants the route, whether anonymous callers may pass, whether rate limited)."""
    scopes: list[str] = []
    public = True
    limited = False
    for call in _dependencies(route):
        if hasattr(call, SCOPES_ATTR):
            scopes = list(getattr(call, SCOPES_ATTR))
            public = bool(getattr(call, OPTIONAL_ATTR, False))
        limited = limited or bool(getattr(call, RATE_LIMITED_ATTR, False))
    return scopes, public if scopes else True, limited


def _document_access(operation: dict[str, Any], scopes: list[str], public: bool, limited: bool) -> None:
    responses = operation.setdefault("responses", {})
    if not scopes:
        operation.setdefault("security", [])  # the token endpoint declares its own (client authentication)
    else:
        operation["x-scopes"] = scopes
        names = " or ".join(f"`{s}`" for s in scopes)
        # Any one of the scopes grants the operation: one OAuth2 requirement per scope (a requirement's scope
        # list means all of them), `admin` among them since it implies every scope.
        wanted = list(dict.fromkeys([*scopes, "admin"]))
        credentials = [{SECURITY_SCHEME: []}, *({OAUTH2_SCHEME: [scope]} for scope in wanted)]
        if public:
            operation["security"] = [{}, *credentials]
            note = f"Public; when the operator turned public reads off (NAKOMING_PUBLIC_READ=false), needs scope {names}."
        else:
            operation["security"] = credentials
            note = (
                f"Needs an API key or OAuth2 access token with scope {names} (`admin` implies every scope)."
            )
        operation["description"] = (
            f"{operation.get('description', '').rstrip()}\n\n**Access:** {note}".lstrip()
        )
        for code in ("401", "403"):
            response = responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[int(code)]})
            response.setdefault("headers", {})["WWW-Authenticate"] = HEADERS["WWW-Authenticate"]
    if limited:
        responses.setdefault("429", {"description": ERROR_DESCRIPTIONS[429]})


def security_schemes() -> dict[str, Any]:
    return {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key",
            "description": "An API key (`nakoming keys create`), sent as `Authorization: Bearer <key>`. Each key "
            "has scopes; an operation's `x-scopes` lists those that grant it.",
        },
        OAUTH2_SCHEME: {
            "type": "oauth2",
            "description": "OAuth2 client credentials (`nakoming clients create`): a system gets a short-lived JWT "
            "access token and sends it as `Authorization: Bearer <token>`. Tokens of the external "
            "OpenID Connect issuers the operator configured are accepted the same way.",
            "flows": {"clientCredentials": {"tokenUrl": "/v1/oauth/token", "scopes": SCOPE_DESCRIPTIONS}},
        },
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "The token endpoint's client_secret_basic: client_id and client_secret as user and password.",
        },
    }


SCOPE_DESCRIPTIONS = {
    "read": "Read commitments and the rest when public reads are off",
    "write": "Create and change records (a party-bound client: only what its party owns)",
    "signals:write": "Register client signals",
    "signals:read": "Read client signals and their statistics",
    "admin": "Everything, including what only admins may change",
}


def finish(spec: dict[str, Any], routes: Iterable[Any] = ()) -> dict[str, Any]:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    spec["components"]["securitySchemes"] = security_schemes()
    paths = spec.get("paths", {})
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document_access(operation, *_access(route))
    for item in paths.values():
        for operation in item.values():
            _finish_operation(operation, schemas)
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return spec


def _finish_operation(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    # What the middleware and the error handlers may answer to any request (services/api/middleware.py).
    for code in UNIVERSAL_ERRORS + ((413,) if "requestBody" in operation else ()):
        responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
    for param in operation.get("parameters", []):
        param["schema"] = _without_null(param["schema"])
    for media in _json_media(operation):
        if "400" not in responses:
            responses["400"] = {"description": ERROR_DESCRIPTIONS[400]}
        schema = media.get("schema", {})
        ref = next((s["$ref"] for s in [schema, *schema.get("anyOf", [])] if "$ref" in s), "")
        component = schemas.get(ref.rsplit("/", 1)[-1], {})
        if "examples" not in media and "example" not in media and component.get("examples"):
            media["examples"] = {
                f"example{i + 1}": {"value": copy.deepcopy(value)}
                for i, value in enumerate(component["examples"])
            }
    idempotent = any(
        p.get("in") == "header" and p.get("name") == "Idempotency-Key"
        for p in operation.get("parameters", [])
    )
    for code, response in responses.items():
        headers = response.setdefault("headers", {})
        if code.isdigit() and int(code) >= 400 and _is_problem(response):
            description = response.get("description")
            if not description or description in ("Validation Error", "Error"):
                description = ERROR_DESCRIPTIONS.get(int(code), "Error")
            kept = dict(headers.items())
            response.clear()
            response.update(_problem(description, kept))
            headers = response.setdefault("headers", {})
            if int(code) in (429, 503):
                headers["Retry-After"] = HEADERS["Retry-After"]
        elif idempotent and code.startswith("2"):
            headers["Idempotent-Replayed"] = HEADERS["Idempotent-Replayed"]
        headers["X-Request-ID"] = HEADERS["X-Request-ID"]


def install(app: FastAPI) -> None:
    """Wrap app.openapi (after services.api.query.document_query_models) with `finish`, built once."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "openapi_finished", False):
            return app.openapi_schema  # type: ignore[return-value]
        spec = finish(base(), getattr(app.state, "api_routes", []))
        app.openapi_schema = spec
        app.state.openapi_finished = True
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
