"""Idempotency-Key store (IETF httpapi draft "The Idempotency-Key HTTP Header Field").

A key is claimed in its own short transaction (committed at once, so a concurrent request with the same
key sees it), and completed inside the request's own unit of work: the stored response commits together
with the data it describes. Semantics:
- same key, same request fingerprint, completed  -> the stored response is replayed;
- same key, first request still running          -> 409;
- same key, another request (body, method, path) -> 422;
- a failed request releases its key, so the client may retry;
- keys expire after NAKOMING_IDEMPOTENCY_TTL_HOURS; a claim left behind by a crashed process is taken over
  after LOCK_TIMEOUT.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import Conflict, Unprocessable
from shared.idempotency.models import IdempotencyRecord

LOCK_TIMEOUT = dt.timedelta(minutes=5)
PROCESSING, COMPLETED = "processing", "completed"


class KeyInUse(Conflict):
    type_slug, title = "idempotency-key-in-use", "Idempotency key in use"


class KeyReused(Unprocessable):
    type_slug, title = "idempotency-key-reused", "Idempotency key reused"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    location: str | None


@dataclass(frozen=True)
class Claim:
    record_id: uuid.UUID | None  # None when a stored response is to be replayed
    replay: StoredResponse | None = None


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


async def claim(session: AsyncSession, *, owner: str, key: str, method: str, path: str, fp: str,
                ttl: dt.timedelta) -> Claim:
    """Claim `key` for this request, or say what to do instead. The caller commits."""
    now = utcnow()
    for _attempt in range(3):
        existing = (await session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
        )).scalars().first()
        if existing is not None:
            stale = existing.expires_at <= now or (
                existing.state == PROCESSING and existing.created_at <= now - LOCK_TIMEOUT)
            if not stale:
                return _decide(existing, fp)
            await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == existing.id))
        record = IdempotencyRecord(owner=owner, key=key, method=method.upper(), path=path[:500], fingerprint=fp,
                                   state=PROCESSING, created_at=now, expires_at=now + ttl)
        try:
            async with session.begin_nested():
                session.add(record)
                await session.flush()
        except IntegrityError:
            session.expunge_all()
            continue  # someone claimed it between our read and insert: decide on theirs
        return Claim(record.id)
    raise KeyInUse("This Idempotency-Key is being claimed by concurrent requests; retry shortly.")


def _decide(existing: IdempotencyRecord, fp: str) -> Claim:
    if existing.fingerprint != fp:
        raise KeyReused("This Idempotency-Key was used for a different request (method, path or body); "
                        "use a new key for a new request.")
    if existing.state != COMPLETED:
        raise KeyInUse("A request with this Idempotency-Key is still being processed; retry later.")
    return Claim(None, StoredResponse(existing.response_status or 200, existing.response_body or b"",
                                      existing.response_location))


async def complete(session: AsyncSession, record_id: uuid.UUID, *, status: int, body: bytes,
                   location: str | None = None, resource_id: uuid.UUID | None = None) -> None:
    """Store the response in the request's own unit of work (commits with the data)."""
    await session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
        state=COMPLETED, response_status=status, response_body=body, response_location=location,
        resource_id=resource_id))


async def release(session: AsyncSession, record_id: uuid.UUID) -> None:
    """Forget a claim whose request failed, so the client can retry with the same key."""
    await session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.id == record_id, IdempotencyRecord.state == PROCESSING))


async def purge(session: AsyncSession, *, resource_ids: list[uuid.UUID] | None = None) -> int:
    """Delete expired records, and those that replay a deleted resource."""
    total = 0
    result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
    total += result.rowcount or 0
    for start in range(0, len(resource_ids or []), 500):
        chunk = (resource_ids or [])[start:start + 500]
        result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.resource_id.in_(chunk)))
        total += result.rowcount or 0
    return total
