"""Request dependencies: settings, sessions (read vs. write), the caller, scopes, list parameters."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.service import ANONYMOUS, Principal, Scope, authenticate, hash_key
from shared.errors import Forbidden, Unauthorized
from shared.jobs import unit_of_work
from shared.settings import Settings


class ReadSession(AsyncSession):
    """Marker type: a session that is never committed (rolled back at the end of the request)."""


class WriteSession(AsyncSession):
    """Marker type: a session committed once when the handler returns, before the response is sent."""


async def get_settings(request: Request) -> Settings:
    """async on purpose: FastAPI runs a sync dependency in a worker thread, a costly hop per request."""
    return request.app.state.settings


@asynccontextmanager
async def read_session(app: Any) -> AsyncIterator[AsyncSession]:
    async with app.state.session_factory() as session:
        try:
            yield session
        finally:
            await session.rollback()


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with read_session(request.app) as session:
        yield session


@asynccontextmanager
async def write_session(app: Any) -> AsyncIterator[AsyncSession]:
    """A unit of work committed when the block ends (rolled back when it fails), then its jobs enqueued."""
    # Jobs go out only after the commit, so a worker never sees uncommitted rows.
    async with unit_of_work(app.state.session_factory, app.state.queue) as session:
        yield session


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with write_session(request.app) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit is a 5xx/4xx,
# never a 2xx for data that was not stored.
ReadDb = Annotated[AsyncSession, Depends(_read_session, scope="function")]
WriteDb = Annotated[AsyncSession, Depends(_write_session, scope="function")]


class PrincipalCache:
    """Authenticated keys, remembered per process for `ttl` seconds (bounded LRU).

    Saves a database round trip on every authenticated request; the price is that a revoked key keeps
    working for at most `ttl` seconds in a process that saw it recently (NAKOMING_AUTH_CACHE_SECONDS, 0 = off).
    Unknown keys are never cached, so a new key works at once.
    """

    def __init__(self, ttl: float, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, token: str) -> Principal | None:
        digest = hash_key(token)
        item = self._items.get(digest)
        if item is None or item[0] < time.monotonic():
            self._items.pop(digest, None)
            return None
        self._items.move_to_end(digest)
        return item[1]

    def put(self, token: str, principal: Principal) -> None:
        digest = hash_key(token)
        self._items[digest] = (time.monotonic() + self.ttl, principal)
        self._items.move_to_end(digest)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


async def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` (anonymous without one); once per request."""
    known = getattr(request.state, "principal", None)
    if known is not None:
        return known
    header = request.headers.get("authorization")
    if not header:
        principal = ANONYMOUS
    else:
        principal = await _authenticate(request, header)
    request.state.principal = principal
    return principal


async def _authenticate(request: Request, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <api key>'.")
    return await principal_of_key(request.app, token.strip())


async def principal_of_key(app: Any, token: str) -> Principal:
    """The caller an API key stands for (401 when it is unknown or revoked); also the status board's reader."""
    cache: PrincipalCache | None = getattr(app.state, "principal_cache", None)
    principal = cache.get(token) if cache else None
    if principal is None:
        # A short session of its own, closed before the handler's session starts its work.
        async with app.state.session_factory() as db:
            principal = await authenticate(db, token)
            await db.rollback()
        if principal is not None and cache is not None:
            cache.put(token, principal)
    if principal is None:
        raise Unauthorized("The API key is unknown or revoked.")
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


# The dependencies below call get_principal themselves instead of declaring it: every declared
# sub-dependency costs FastAPI a resolution step on every request (bench/api).
def require(scope: Scope | str):
    """A dependency demanding `scope` (admin implies every scope). 401 without a key, 403 without the scope."""

    async def _check(request: Request) -> Principal:
        principal = await get_principal(request)
        if principal.is_anonymous:
            raise Unauthorized(f"This operation needs an API key with scope {str(scope)!r}.")
        if not principal.has(str(scope)):
            raise Forbidden(f"The API key lacks scope {str(scope)!r}.")
        return principal

    return _check


async def public_read(request: Request) -> Principal:
    return may_read(await get_principal(request), request.app.state.settings)


def may_read(principal: Principal, settings: Settings) -> Principal:
    """The rule for every public read (the /v1 reads and the status board): anyone while public reads are on,
    otherwise a key with scope 'read' or 'write' (401 without a key, 403 without the scope)."""
    if settings.public_read:
        return principal
    if principal.is_anonymous:
        raise Unauthorized("Reads need an API key with scope 'read' (NAKOMING_PUBLIC_READ=false).")
    if not principal.has(Scope.read) and not principal.has(Scope.write):
        raise Forbidden("The API key lacks scope 'read'.")
    return principal


Reader = Annotated[Principal, Depends(public_read)]
Writer = Annotated[Principal, Depends(require(Scope.write))]
Admin = Annotated[Principal, Depends(require(Scope.admin))]
