"""One place that renders every error as RFC 9457 application/problem+json."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import PROBLEM_BASE, NakomingError, ServiceUnavailable

log = structlog.get_logger("nakoming.api")

PROBLEM_JSON = "application/problem+json"


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


def _problem_response(request: Request, status: int, type_: str, title: str, detail: str,
                      headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail,
                            "instance": request.url.path, "request_id": getattr(request.state, "request_id", None)}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _render(request: Request, exc: NakomingError) -> JSONResponse:
    return _problem_response(request, exc.status, exc.type, exc.title, exc.detail, exc.headers or None, **exc.extra)


def _clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "Unknown field; it is not part of this resource."
        # Never echo the input back: it may hold personal data.
        cleaned.append({"loc": list(err.get("loc", [])), "msg": msg, "type": err.get("type", "value_error")})
    return cleaned


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NakomingError)
    async def _nakoming(request: Request, exc: NakomingError) -> JSONResponse:
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_errors(list(exc.errors()))
        json_invalid = any(e["type"] == "json_invalid" for e in errors)
        if json_invalid:
            return _problem_response(request, 400, PROBLEM_BASE + "malformed-json", "Malformed JSON",
                                     "The request body is not valid JSON.", errors=errors)
        first = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
        return _problem_response(request, 422, PROBLEM_BASE + "validation", "Validation failed", first, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 415: "unsupported-media-type"}.get(exc.status_code, "http")
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.url.path}; see /docs."
        return _problem_response(request, exc.status_code, PROBLEM_BASE + slug, detail, detail,
                                 dict(exc.headers) if exc.headers else None)

    def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
        return _render(request, ServiceUnavailable("The database is unavailable; nothing was changed. Retry shortly."))

    def _internal(request: Request) -> JSONResponse:
        return _problem_response(request, 500, PROBLEM_BASE + "internal", "Internal error",
                                 "An unexpected error occurred; quote the request id when reporting it.")

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            return _unavailable(request, exc)
        log.exception("database_error", path=request.url.path)
        return _internal(request)

    @app.exception_handler(ConnectionError)
    async def _connection(request: Request, exc: ConnectionError) -> JSONResponse:
        # Raised by the database driver while connecting (server down or restarting).
        return _unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return _internal(request)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {400: "Bad request", 401: "No or invalid API key", 403: "Key lacks the scope",
                    404: "Not found", 409: "Conflict with stored data", 412: "If-Match does not match",
                    422: "Validation failed", 428: "If-Match required", 429: "Rate limited"}
    return {code: {"model": Problem, "description": descriptions.get(code, "Error"),
                   "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}} for code in codes}
