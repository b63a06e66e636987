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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import rowcount, utcnow
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


async def claim(
    session: AsyncSession, *, owner: str, key: str, method: str, path: str, fp: str, ttl: dt.timedelta
) -> Claim:
    """Claim `key` for this request, or say what to do instead. The caller commits.

    The common case is one statement: INSERT ... ON CONFLICT DO NOTHING RETURNING id. On PostgreSQL a
    concurrent claim of the same key waits for ours to commit and then finds it.
    """
    now = utcnow()
    table = IdempotencyRecord.__table__
    for _attempt in range(3):
        record_id = uuid.uuid4()
        stmt = (
            _insert(session)(table)
            .values(
                id=record_id,
                owner=owner,
                key=key,
                method=method.upper(),
                path=path[:500],
                fingerprint=fp,
                state=PROCESSING,
                created_at=now,
                expires_at=now + ttl,
            )
            .on_conflict_do_nothing(index_elements=["owner", "key"])
            .returning(table.c.id)
        )
        if (await session.execute(stmt)).scalar() is not None:
            return Claim(record_id)
        existing = (
            (
                await session.execute(
                    select(IdempotencyRecord)
                    .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .first()
        )
        if existing is None:
            continue  # released or purged between the two statements: try again
        if not is_stale(existing.state, existing.created_at, existing.expires_at, now):
            return _decide(existing, fp)
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == existing.id))
    raise KeyInUse("This Idempotency-Key is being claimed by concurrent requests; retry shortly.")


def _insert(session: AsyncSession):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


def is_stale(state: str, created_at: dt.datetime, expires_at: dt.datetime, now: dt.datetime) -> bool:
    """Expired, or a claim left behind by a crashed process: it may be taken over."""
    return expires_at <= now or (state == PROCESSING and created_at <= now - LOCK_TIMEOUT)


def decide(
    *, fingerprint: str, state: str, status: int | None, body: bytes | None, location: str | None, fp: str
) -> StoredResponse:
    """What a request with fingerprint `fp` gets for a live record with that key: its replay, or an error."""
    if fingerprint != fp:
        raise KeyReused(
            "This Idempotency-Key was used for a different request (method, path or body); "
            "use a new key for a new request."
        )
    if state != COMPLETED:
        raise KeyInUse("A request with this Idempotency-Key is still being processed; retry later.")
    return StoredResponse(status or 200, body or b"", location)


def _decide(existing: IdempotencyRecord, fp: str) -> Claim:
    return Claim(
        None,
        decide(
            fingerprint=existing.fingerprint,
            state=existing.state,
            status=existing.response_status,
            body=existing.response_body,
            location=existing.response_location,
            fp=fp,
        ),
    )


async def complete(
    session: AsyncSession,
    record_id: uuid.UUID,
    *,
    status: int,
    body: bytes,
    location: str | None = None,
    resource_id: uuid.UUID | None = None,
) -> None:
    """Store the response in the request's own unit of work (commits with the data)."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(
            state=COMPLETED,
            response_status=status,
            response_body=body,
            response_location=location,
            resource_id=resource_id,
        )
    )


async def release(session: AsyncSession, record_id: uuid.UUID) -> None:
    """Forget a claim whose request failed, so the client can retry with the same key."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.state == PROCESSING
        )
    )


async def purge(session: AsyncSession, *, resource_ids: list[uuid.UUID] | None = None) -> int:
    """Delete expired records, and those that replay a deleted resource."""
    total = 0
    result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
    total += rowcount(result)
    for start in range(0, len(resource_ids or []), 500):
        chunk = (resource_ids or [])[start : start + 500]
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.resource_id.in_(chunk))
        )
        total += rowcount(result)
    return total
