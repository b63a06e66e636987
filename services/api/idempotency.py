"""`Idempotency-Key` as a dependency for any POST: `idem: Idempotent` (required) or `OptionalIdempotent`.

The handler stores its response with `await idem.respond(db, status, payload)`; a repeat of the same
request gets that response replayed (header `Idempotent-Replayed: true`) without running the handler.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import actor_of, get_principal, write_session
from services.api.query import OPENAPI_PARAMETERS
from shared.audit.service import record
from shared.auth.service import Principal
from shared.errors import BadRequest
from shared.idempotency import service as store
from shared.signals.privacy import holds_bsn

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotentReplay(Exception):
    def __init__(self, stored: store.StoredResponse) -> None:
        self.stored = stored


@dataclass
class Idempotency:
    key: str | None
    record_id: uuid.UUID | None

    async def respond(
        self,
        db: AsyncSession,
        status: int,
        payload: Any,
        *,
        location: str | None = None,
        resource_id: uuid.UUID | None = None,
    ) -> Response:
        body = orjson.dumps(jsonable_encoder(payload))
        if self.record_id is not None:
            await store.complete(
                db, self.record_id, status=status, body=body, location=location, resource_id=resource_id
            )
        headers = {"Location": location} if location else None
        return Response(body, status_code=status, media_type="application/json", headers=headers)


def key_of(request: Request, required: bool) -> str | None:
    """The request's Idempotency-Key, checked (400 when missing but required, or malformed)."""
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise BadRequest(
                f"This operation needs an {HEADER} header (a unique value per request, e.g. a "
                "UUID); repeat it to retry safely.",
                errors=[{"loc": ["header", HEADER], "msg": "missing", "type": "missing"}],
            )
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"{HEADER} must be 1-{MAX_KEY_LENGTH} characters.",
            errors=[{"loc": ["header", HEADER], "msg": "invalid", "type": "value_error"}],
        )
    if holds_bsn(key):
        # The key is stored with its response. A random token holds 9 digits passing the eleven-test now and then,
        # so such a key is not refused but stored as its digest: replays still match, no BSN is kept.
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def owner_of(principal: Principal) -> str:
    return principal.identity


@asynccontextmanager
async def claimed(request: Request, principal: Principal, key: str) -> AsyncIterator[Idempotency]:
    """Claim `key` in a short transaction of its own (so a concurrent request sees it), and release it
    when the block fails. A completed key raises IdempotentReplay instead (rendered as the stored response)."""
    body = await request.body()
    settings = request.app.state.settings
    async with request.app.state.session_factory() as session:
        try:
            result = await store.claim(
                session,
                owner=owner_of(principal),
                key=key,
                method=request.method,
                path=request.url.path,
                fp=store.fingerprint(request.method, request.url.path, body),
                ttl=dt.timedelta(hours=settings.idempotency_ttl_hours),
            )
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    if result.replay is not None:
        raise IdempotentReplay(result.replay)
    try:
        yield Idempotency(key, result.record_id)
    except BaseException:
        async with request.app.state.session_factory() as session:
            await store.release(session, result.record_id)  # type: ignore[arg-type]
            await session.commit()
        raise


def _documented(dependency: Any, required: bool) -> Any:
    """Lists the header in OpenAPI (services/api/query.py) while the dependency reads it itself."""
    setattr(
        dependency,
        OPENAPI_PARAMETERS,
        [
            {
                "name": HEADER,
                "in": "header",
                "required": required,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                "description": (
                    "A unique value per logical request (e.g. a UUID). Send the same value again to retry "
                    "safely: the stored response is replayed (header `Idempotent-Replayed: true`); the same key "
                    "with a different body is a 422, a key whose first request is still running a 409."
                    + ("" if required else " Optional here.")
                ),
                "example": "5f1c8d2e-3b7a-4c1e-9a0f-2d6b8e4f7a13",
            }
        ],
    )
    return dependency


async def audit_replay(
    request: Request, principal: Principal, stored: store.StoredResponse, action: str, resource: str
) -> None:
    """A replay hands out the first answer's data again, so it is audited as that answer was (same action and
    record), in a transaction of its own (the replay runs no handler and opens no session)."""
    if stored.location is None:
        return
    async with write_session(request.app) as db:
        await record(
            db,
            actor_of(request, principal),
            action,
            resource,
            [stored.location.rsplit("/", 1)[-1]],
            detail={"idempotent_replay": True},
        )


def _dependency(required: bool, audit: tuple[str, str] | None = None):
    """`audit`: (action, resource) of the first answer's audit entry, when a replay must be audited too."""

    async def idempotency(request: Request) -> AsyncIterator[Idempotency]:
        key = key_of(request, required)
        if key is None:
            yield Idempotency(None, None)
            return
        principal = await get_principal(request)
        try:
            async with claimed(request, principal, key) as idem:
                yield idem
        except IdempotentReplay as replay:
            if audit is not None:
                await audit_replay(request, principal, replay.stored, *audit)
            raise

    return _documented(idempotency, required)


async def _required_key(request: Request) -> str:
    return key_of(request, True)  # type: ignore[return-value]


_documented(_required_key, True)


Idempotent = Annotated[Idempotency, Depends(_dependency(True), scope="function")]
OptionalIdempotent = Annotated[Idempotency, Depends(_dependency(False), scope="function")]
# Only the checked header: for handlers that claim the key themselves (`claimed`, or in one statement).
IdempotencyKey = Annotated[str, Depends(_required_key)]


def audited_replays(action: str, resource: str) -> Any:
    """The dependency of an optional Idempotency-Key on a write whose answer is audited data (a signal batch): a
    replay is audited too. `Annotated[Idempotency, audited_replays(action, resource)]`."""
    return Depends(_dependency(False, (action, resource)), scope="function")


def install(app: FastAPI) -> None:
    @app.exception_handler(IdempotentReplay)
    async def _replay(_request: Request, exc: IdempotentReplay) -> Response:
        headers = {"Idempotent-Replayed": "true"}
        if exc.stored.location:
            headers["Location"] = exc.stored.location
        return Response(
            exc.stored.body, status_code=exc.stored.status, media_type="application/json", headers=headers
        )
