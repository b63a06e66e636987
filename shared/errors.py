"""Typed errors. Each carries its HTTP status and a stable problem `type`; one handler renders them."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://nakoming.nl/problems/"


class NakomingError(Exception):
    status: int = 500
    type_slug: str = "internal"
    title: str = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.type_slug


class BadRequest(NakomingError):
    status, type_slug, title = 400, "bad-request", "Bad request"


class InvalidCursor(BadRequest):
    type_slug, title = "invalid-cursor", "Invalid cursor"


class Unauthorized(NakomingError):
    status, type_slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer realm="nakoming"'


def _quoted(text: str) -> str:
    """A value fit for a quoted-string of WWW-Authenticate (RFC 6750 §3 allows no quote or backslash in it)."""
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


class InvalidToken(Unauthorized):
    """A bearer credential that proves nothing (unknown, revoked, expired, badly signed): RFC 6750 invalid_token."""

    type_slug = "invalid-token"

    def __init__(self, detail: str, description: str | None = None) -> None:
        super().__init__(detail)
        self.headers["WWW-Authenticate"] = (
            f'Bearer realm="nakoming", error="invalid_token", '
            f'error_description="{_quoted(description or detail)}"'
        )


class Forbidden(NakomingError):
    status, type_slug, title = 403, "forbidden", "Forbidden"


class InsufficientScope(Forbidden):
    """The credential is good but lacks the scope (RFC 6750 insufficient_scope, naming the scopes that would do)."""

    type_slug = "insufficient-scope"

    def __init__(self, detail: str, scopes: list[str]) -> None:
        super().__init__(detail)
        self.headers["WWW-Authenticate"] = (
            f'Bearer realm="nakoming", error="insufficient_scope", scope="{_quoted(" ".join(scopes))}"'
        )


class NotFound(NakomingError):
    status, type_slug, title = 404, "not-found", "Not found"


class NotAcceptable(NakomingError):
    status, type_slug, title = 406, "not-acceptable", "Not acceptable"


class Conflict(NakomingError):
    status, type_slug, title = 409, "conflict", "Conflict"


class DuplicateKey(Conflict):
    type_slug, title = "duplicate", "Duplicate natural key"


class PreconditionFailed(NakomingError):
    status, type_slug, title = 412, "precondition-failed", "Precondition failed"


class Unprocessable(NakomingError):
    status, type_slug, title = 422, "unprocessable", "Unprocessable content"


class ValidationFailed(Unprocessable):
    type_slug, title = "validation", "Validation failed"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, errors=errors)


class TooManyRequests(NakomingError):
    status, type_slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(retry_after)


class ServiceUnavailable(NakomingError):
    status, type_slug, title = 503, "unavailable", "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["Retry-After"] = str(retry_after)


def field_error(loc: list[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}
