"""Request id on every response (taken from X-Request-ID when sent), one structured access log line and the
request's figures in the latency histogram (services/api/metrics.py), all from one timing."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.metrics import observe_request
from shared.errors import NakomingError, Unauthorized
from shared.schemas import CONTROL_CHARACTERS
from shared.signals.privacy import holds_bsn

log = structlog.get_logger("nakoming.access")
_ids = random.Random()  # seeded from os.urandom once per process
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
NO_STORE_PREFIX = "/v1/signals"


def _new_id() -> str:
    """32 hex digits; drawn again in the rare case that they hold 9 digits the log screen would redact."""
    while holds_bsn(request_id := f"{_ids.getrandbits(128):032x}"):
        pass
    return request_id


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): cheap on the hot path and safe for streaming."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        # Correlation ids need to be unique, not secret: no getrandom() system call per request.
        # A sent id that looks like a BSN is replaced like a malformed one: it would be stored and logged.
        request_id = (
            incoming if incoming and _VALID_ID.match(incoming) and not holds_bsn(incoming) else _new_id()
        )
        scope.setdefault("state", {})["request_id"] = request_id
        no_store = scope["path"].startswith(NO_STORE_PREFIX)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if not any(
                    k.lower() == b"x-request-id" for k, _ in headers
                ):  # a problem response sets it itself
                    message["headers"] = headers = [*headers, (b"x-request-id", request_id.encode())]
                if no_store:  # signal data (and its errors) never sits in a shared or browser cache
                    message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                observe_request(scope, status, seconds)
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_URL_BYTES = 8 * 1024  # path + query string; far beyond any valid request (a cursor is at most 1,000)


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a body passes its limit; FastAPI lets HTTPExceptions through as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit:,} bytes.")


@dataclass(frozen=True)
class BodyRoute:
    methods: frozenset[str]
    path: re.Pattern[str]
    field: Any  # FastAPI's ModelField of the JSON body, or None for a route that reads the raw body


def body_routes(routes: list[Any]) -> list[BodyRoute]:
    """The write routes, with the JSON body model each validates (from FastAPI's APIRoutes)."""
    out = []
    for route in routes:
        methods = frozenset(getattr(route, "methods", None) or ()) & WRITE_METHODS
        if methods:
            out.append(BodyRoute(methods, route.path_regex, getattr(route, "body_field", None)))
    return out


class BodyGuardMiddleware:
    """What one request may cost, decided before a handler runs (pure ASGI, so nothing is read twice):

    * a URL over MAX_URL_BYTES is a 414; a body over NAKOMING_MAX_BODY_BYTES (NAKOMING_MAX_BATCH_BYTES for
      batch uploads) a 413, from Content-Length before reading anything, or counted as a streamed body arrives;
    * a write without credentials is a 401 before its body is read or parsed (so broken JSON from an
      anonymous caller is a 401, not a 400, and costs nothing);
    * a JSON body over NAKOMING_OFFLOAD_BODY_BYTES is parsed and validated against its route's model in a
      worker thread, so no large body holds the event loop: a failing one is answered from there (422/400,
      errors capped), a passing one is handed on and validated again cheaply (a valid body is small).
    """

    def __init__(self, app: ASGIApp, settings: Any, routes: list[BodyRoute], batch_path: str) -> None:
        self.app = app
        self.settings = settings
        self.routes = routes
        self.batch_path = batch_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from services.api.errors import render_error, send_problem, validation_problem

        if len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > MAX_URL_BYTES:
            await send_problem(
                scope,
                receive,
                send,
                414,
                "uri-too-long",
                "URI too long",
                f"The URL is longer than {MAX_URL_BYTES:,} bytes.",
            )
            return
        if CONTROL_CHARACTERS.search(
            scope["path"]
        ):  # e.g. %00 in a path parameter: PostgreSQL cannot take it
            await validation_problem(
                Request(scope),
                [{"loc": ["path"], "msg": "the path holds a control character", "type": "control_character"}],
            )(scope, receive, send)
            return
        headers = {
            k: v for k, v in scope["headers"] if k in (b"content-length", b"content-type", b"authorization")
        }
        limit = (
            self.settings.max_batch_bytes
            if scope["path"] == self.batch_path
            else self.settings.max_body_bytes
        )
        length: int | None = None
        if b"content-length" in headers:
            try:
                length = int(headers[b"content-length"])
            except ValueError:
                await send_problem(
                    scope, receive, send, 400, "bad-request", "Bad request", "Content-Length is not a number."
                )
                return
            if length > limit:
                await send_problem(
                    scope,
                    receive,
                    send,
                    413,
                    "too-large",
                    "Request body too large",
                    f"The request body is larger than {limit:,} bytes.",
                )
                return
        route = self._route(scope) if scope["method"] in WRITE_METHODS else None
        if route is not None and b"authorization" not in headers:
            error = Unauthorized("This operation needs an API key (Authorization: Bearer <key>).")
            await send_problem(
                scope,
                receive,
                send,
                error.status,
                error.type_slug,
                error.title,
                error.detail,
                headers=error.headers,
            )
            return
        content_type = headers.get(b"content-type", b"application/json").split(b";")[0].strip().lower()
        is_json = content_type == b"application/json" or content_type.endswith(b"+json")
        if (
            route is not None
            and route.field is not None
            and is_json
            and (length is None or length > self.settings.offload_body_bytes)
        ):
            try:
                body = await _read_all(receive, limit)
            except BodyTooLarge as exc:
                await send_problem(
                    scope, receive, send, 413, "too-large", "Request body too large", exc.detail
                )
                return
            try:
                errors = await asyncio.to_thread(_validate, body, route.field)
            except NakomingError as exc:  # e.g. the BSN screen of a signal
                await render_error(Request(scope), exc)(scope, receive, send)
                return
            if errors:
                await validation_problem(Request(scope), errors)(scope, receive, send)
                return
            receive = _replay(body, receive)
        started = False

        async def counted_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, limit), counted_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await send_problem(scope, receive, send, 413, "too-large", "Request body too large", exc.detail)

    def _route(self, scope: Scope) -> BodyRoute | None:
        path, method = scope["path"], scope["method"]
        return next((r for r in self.routes if method in r.methods and r.path.match(path)), None)


async def _read_all(receive: Receive, limit: int) -> bytes:
    parts, total = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyTooLarge(limit) if total > limit else ConnectionResetError("client went away")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _counting(receive: Receive, limit: int) -> Receive:
    total = 0

    async def counted() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _validate(body: bytes, field: Any) -> list[dict[str, Any]]:
    """In a worker thread: the JSON body against its route's model, as FastAPI would do it on the loop."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]
    _, errors = field.validate(data, {}, loc=("body",))
    return list(errors or [])
