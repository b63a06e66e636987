"""One place that renders every error as RFC 9457 application/problem+json."""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import PROBLEM_BASE, NakomingError, ServiceUnavailable
from shared.pg import CONNECTION_ERRORS, is_connection_error
from shared.signals.privacy import redact_bsn, safe_loc, safe_text

log = structlog.get_logger("nakoming.api")

PROBLEM_JSON = "application/problem+json"
ERROR_DESCRIPTIONS = {
    400: "Bad request: malformed JSON, a missing or malformed header, an invalid cursor (the problem `type` "
    "says which)",
    401: "No, or an unknown or revoked, API key",
    403: "The API key lacks the scope",
    404: "Not found",
    405: "Method not allowed",
    406: "None of the media types in Accept (or `format`) can be produced",
    409: "Conflict with stored data",
    412: "If-Match does not match the current ETag",
    413: "Request body too large",
    414: "URL too long",
    415: "Unsupported media type",
    422: "Validation failed (field errors in `errors`)",
    428: "If-Match required",
    429: "Rate limited: too many requests for this key, or too many failed authentications from this address "
    "(NAKOMING_AUTH_FAILURES_PER_MINUTE); see Retry-After",
    500: "Internal error",
    503: "Database unavailable; retry after `Retry-After` seconds",
}


class FieldError(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "due_date"]])
    msg: str = Field(examples=["Input should be a valid date"])
    type: str = Field(examples=["date_from_datetime_parsing"])


class Problem(BaseModel):
    type: str = Field(examples=[PROBLEM_BASE + "validation"])
    title: str = Field(examples=["Validation failed"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["body.due_date: Input should be a valid date"])
    instance: str | None = Field(default=None, examples=["/v1/commitments"])
    request_id: str | None = None
    errors: list[FieldError] | None = None
    errors_omitted: int | None = Field(
        default=None,
        description="Field errors found beyond the first "
        "NAKOMING_MAX_FIELD_ERRORS listed (a lower bound for very large inputs).",
    )


def _problem_response(
    request: Request,
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": safe_text(detail),
        "instance": redact_bsn(request.url.path),
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    if body["request_id"]:
        # Also here, not only in RequestIdMiddleware: a 500 is sent by Starlette's outermost middleware,
        # past every other one (the middleware leaves a header already set alone).
        headers = {**(headers or {}), "X-Request-ID": body["request_id"]}
    if isinstance(body.get("errors"), list):
        body["errors"], omitted = _clean_errors(body["errors"], _max_errors(request))
        if omitted:
            body["errors_omitted"] = body.get("errors_omitted", 0) + omitted
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _max_errors(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return settings.max_field_errors if settings is not None else 100


def render_error(request: Request, exc: NakomingError) -> JSONResponse:
    return _problem_response(
        request, exc.status, exc.type, exc.title, exc.detail, exc.headers or None, **exc.extra
    )


_render = render_error


async def send_problem(
    scope: Any,
    receive: Any,
    send: Any,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """A problem answered by an ASGI middleware, before any route runs."""
    response = _problem_response(Request(scope), status, PROBLEM_BASE + slug, title, detail, headers or None)
    await response(scope, receive, send)


def _clean_errors(errors: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first `limit` errors, each as loc/msg/type only, and how many were left out. Never the input
    (it may hold personal data); a location part that looks like a BSN (a field named so) is redacted."""
    cleaned = []
    for err in errors[:limit]:
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "Unknown field; it is not part of this resource."
        cleaned.append(
            {
                "loc": safe_loc(err.get("loc", [])),
                "msg": safe_text(str(msg)),
                "type": err.get("type", "value_error"),
            }
        )
    return cleaned, max(0, len(errors) - limit)


def validation_problem(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    """422 (or 400 for a body that is not JSON) for pydantic-style field errors."""
    if any(e.get("type") == "json_invalid" for e in errors[:1]):
        return _problem_response(
            request,
            400,
            PROBLEM_BASE + "malformed-json",
            "Malformed JSON",
            "The request body is not valid JSON.",
            errors=errors,
        )
    shown, _ = _clean_errors(errors[:3], 3)
    first = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in shown)
    return _problem_response(
        request, 422, PROBLEM_BASE + "validation", "Validation failed", first, errors=errors
    )


def log_unexpected(event: str, exc: BaseException, **fields: Any) -> None:
    """Log an unexpected error by its type and stack only: its message may quote a row (a database error's
    parameters, a value in a ValueError), and rows hold summaries and pseudonyms."""
    log.error(
        event,
        error=type(exc).__name__,
        sqlstate=getattr(getattr(exc, "orig", exc), "sqlstate", None),
        stack="".join(traceback.format_tb(exc.__traceback__)),
        **fields,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NakomingError)
    async def _nakoming(request: Request, exc: NakomingError) -> JSONResponse:
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            errors = [e for e in errors if e.get("type") == "json_invalid"]
        return validation_problem(request, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {
            404: "not-found",
            405: "method-not-allowed",
            413: "too-large",
            415: "unsupported-media-type",
        }.get(exc.status_code, "http")
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.url.path}; see /docs."
        if exc.status_code == 405:
            # Starlette names the methods of the first route matching the path; a path has several.
            allowed = allowed_methods(request.app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}."
        title = {405: "Method not allowed"}.get(exc.status_code, detail)
        return _problem_response(
            request, exc.status_code, PROBLEM_BASE + slug, title, detail, headers or None
        )

    def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
        return _render(
            request, ServiceUnavailable("The database is unavailable; nothing was changed. Retry shortly.")
        )

    def _internal(request: Request) -> JSONResponse:
        return _problem_response(
            request,
            500,
            PROBLEM_BASE + "internal",
            "Internal error",
            "An unexpected error occurred; quote the request id when reporting it.",
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_connection_error(exc):
            return _unavailable(request, exc)
        log_unexpected("database_error", exc, path=request.url.path)
        return _internal(request)

    async def _connection(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, exc)

    # Connection errors get handlers of their own (not only the catch-all below): an error that reaches the
    # catch-all is re-raised by Starlette after its response, to be logged again by the server.
    for kind in (*CONNECTION_ERRORS, PoolTimeout):
        app.add_exception_handler(kind, _connection)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Connection errors of every kind (refused, CannotConnectNowError while the server starts, asyncpg's
        # InternalClientError, a pool timeout), raised on the session path or the raw asyncpg path: 503.
        if is_connection_error(exc):
            return _unavailable(request, exc)
        log_unexpected("unhandled_error", exc, path=request.url.path)
        return _internal(request)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route answers on `path` (for a 405's Allow header)."""
    methods: set[str] = set()
    for route in [*app.router.routes, *getattr(app.state, "api_routes", ())]:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(path):
            methods |= set(route_methods)
    return sorted(methods)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    if 401 in codes and 429 not in codes:  # whatever authenticates can meet the failed-authentication limit
        codes = (*codes, 429)
    return {
        code: {
            "model": Problem,
            "description": ERROR_DESCRIPTIONS.get(code, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }
