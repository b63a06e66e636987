"""Request dependencies: settings, sessions (read vs. write), the caller, scopes, list parameters."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.bearer import looks_like_jwt, verify
from services.api.openapi import OPTIONAL_ATTR, SCOPES_ATTR
from shared.audit.service import Actor
from shared.auth.service import ANONYMOUS, Principal, Scope, authenticate, hash_key
from shared.auth.tokens import TokenRejected
from shared.errors import InsufficientScope, InvalidToken, TooManyRequests, Unauthorized
from shared.jobs import unit_of_work
from shared.settings import Settings
from shared.signals.privacy import redact_bsn

log = structlog.get_logger("nakoming.auth")


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
    """Authenticated credentials (API keys, bearer tokens), remembered per process (bounded LRU).

    Saves a database round trip (and a signature check) on every authenticated request. An entry lives `ttl`
    seconds (NAKOMING_AUTH_CACHE_SECONDS, 0 = off), a token's no longer than the token. Revocation does not wait
    for that: the revocation watcher (services/api/revocation.py) clears the cache when a key or client is revoked
    anywhere, and nothing remembered is trusted while the watcher has not confirmed the epoch recently
    (`trusted_until`), so a revoked credential stops working within a few watch intervals even if it fails.
    Unknown credentials are never cached, so a new key works at once.
    """

    def __init__(self, ttl: float, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        # monotonic time; a revocation watcher, once attached, keeps raising it (and it starts at 0: untrusted)
        self.trusted_until = math.inf
        self._items: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, token: str) -> Principal | None:
        digest = hash_key(token)
        item = self._items.get(digest)
        now = time.monotonic()
        if item is None or item[0] < now or now > self.trusted_until:
            self._items.pop(digest, None)
            return None
        self._items.move_to_end(digest)
        return item[1]

    def put(self, token: str, principal: Principal, lifetime: float | None = None) -> None:
        digest = hash_key(token)
        ttl = self.ttl if lifetime is None else min(self.ttl, lifetime)
        self._items[digest] = (time.monotonic() + ttl, principal)
        self._items.move_to_end(digest)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


async def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key or token>` (anonymous without one); once per request."""
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
    token = token.strip()
    well_formed = scheme.lower() == "bearer" and bool(token)
    cache: PrincipalCache | None = getattr(request.app.state, "principal_cache", None)
    principal = cache.get(token) if cache and well_formed else None
    if principal is not None:
        return principal
    # Not a key this process knows: an address that failed too often is refused before the key is even looked
    # at, so guessing costs a minute per NAKOMING_AUTH_FAILURES_PER_MINUTE tries, right or wrong.
    limiter, address = await not_blocked(request)
    if not well_formed:
        await failed_authentication(request, limiter, address, "malformed Authorization header")
        raise Unauthorized("Use 'Authorization: Bearer <api key or access token>'.")
    if looks_like_jwt(token):
        try:
            verified = await verify(request, token)
        except TokenRejected as exc:
            await failed_authentication(request, limiter, address, f"access token rejected: {exc}")
            raise InvalidToken(f"The access token is not accepted: {exc}.", str(exc)) from None
        if cache is not None:
            cache.put(token, verified.principal, verified.expires_at - time.time())
        return verified.principal
    principal = await _look_up(request.app, token)
    if principal is None:
        await failed_authentication(request, limiter, address, "unknown or revoked key")
        raise InvalidToken("The API key is unknown or revoked.", "unknown or revoked API key")
    return principal


async def _look_up(app: Any, token: str) -> Principal | None:
    """The key in the database (a short session of its own, closed before the handler's starts), remembered."""
    async with app.state.session_factory() as db:
        principal = await authenticate(db, token)
        await db.rollback()
    cache: PrincipalCache | None = getattr(app.state, "principal_cache", None)
    if principal is not None and cache is not None:
        cache.put(token, principal)
    return principal


async def principal_of_key(app: Any, token: str) -> Principal:
    """The caller an API key stands for (401 when it is unknown or revoked): the status board's reader."""
    cache: PrincipalCache | None = getattr(app.state, "principal_cache", None)
    principal = (cache.get(token) if cache else None) or await _look_up(app, token)
    if principal is None:
        raise Unauthorized("The API key is unknown or revoked.")
    return principal


async def not_blocked(request: Request) -> tuple[Any, str]:
    """(the failure limiter, the client address), or a 429 when that address failed too often this minute."""
    limiter = getattr(request.app.state, "auth_failure_limiter", None)
    address = request.client.host if request.client else "unknown"
    if limiter is not None and (wait := await limiter.blocked(address)) is not None:
        raise _too_many_failures(limiter, wait)
    return limiter, address


async def failed_authentication(request: Request, limiter: Any, address: str, reason: str) -> None:
    """Count a failed authentication against the address and log it (never the presented secret)."""
    log.warning("authentication_failed", client=address, reason=reason, path=request.url.path)
    if limiter is not None and (wait := await limiter.hit(address)) is not None:
        raise _too_many_failures(limiter, wait)


def _too_many_failures(limiter: Any, wait: int) -> TooManyRequests:
    return TooManyRequests(
        f"More than {limiter.per_minute} failed authentications per minute from this address; "
        f"retry in {wait} s.",
        retry_after=wait,
    )


Caller = Annotated[Principal, Depends(get_principal)]


def actor_of(request: Request, principal: Principal) -> Actor:
    """Who the audit log and a record's created_by / updated_by name for this request: the key's or client's name
    and id (a person's display name and subject), the party, and the request id. The name passes the BSN screen:
    it is shown to every reader of a record and its history, whatever kind of principal it came from."""
    return Actor(
        name=redact_bsn(principal.name),
        key_id=principal.key_id,
        party_id=principal.party_id,
        request_id=getattr(request.state, "request_id", None),
        client_id=principal.client_id,
        subject=principal.subject,
    )


# The dependencies below call get_principal themselves instead of declaring it: every declared
# sub-dependency costs FastAPI a resolution step on every request (bench/api).
def require(*scopes: Scope | str) -> Any:
    """A dependency demanding one of `scopes` (admin implies every scope). 401 without a key, 403 without."""

    wanted = [str(s) for s in scopes]
    named = " or ".join(repr(s) for s in wanted)

    async def _check(request: Request) -> Principal:
        principal = await get_principal(request)
        if principal.is_anonymous:
            raise Unauthorized(f"This operation needs an API key or access token with scope {named}.")
        if not any(principal.has(s) for s in wanted):
            raise InsufficientScope(f"The API key or token lacks scope {named}.", wanted)
        return principal

    setattr(_check, SCOPES_ATTR, wanted)  # documented in OpenAPI (services/api/openapi.py)
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
        raise InsufficientScope("The API key or token lacks scope 'read'.", [Scope.read, Scope.write])
    return principal


setattr(public_read, SCOPES_ATTR, [str(Scope.read), str(Scope.write)])  # either grants private reads
setattr(public_read, OPTIONAL_ATTR, True)

Reader = Annotated[Principal, Depends(public_read)]
Writer = Annotated[Principal, Depends(require(Scope.write))]
Admin = Annotated[Principal, Depends(require(Scope.admin))]
