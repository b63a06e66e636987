"""Append-only audit of access to sensitive data and of every write. Entries are added to the caller's unit of
work, so a write and its audit entry commit together (and a rolled-back write leaves no entry)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.db import new_id, utcnow
from shared.people.models import AUTHOR_COLUMNS, PERSON_KEY

MAX_IDS = 1000  # a list call names at most a page; bulk jobs are audited by count


@dataclass(frozen=True)
class Actor:
    name: str
    key_id: uuid.UUID | None = None
    party_id: uuid.UUID | None = None
    request_id: str | None = None
    client_id: str | None = None  # an OAuth2 client's, when a token wrote
    subject: str | None = None  # a person's `issuer#sub`, when an external OIDC token wrote


SYSTEM = Actor(name="system")


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    resource: str,
    record_ids: Iterable[Any] = (),
    *,
    count: int | None = None,
    detail: dict[str, Any] | None = None,
    commitment_id: uuid.UUID | None = None,
) -> None:
    """`commitment_id`: the commitment the write belongs to (its own, or its action's, milestone's, measurement's
    or fulfilment record's), which lists the entry in GET /v1/commitments/{id}/changes."""
    ids = [str(i) for i in record_ids]
    await session.execute(
        insert(AuditEntry).values(
            id=new_id(),
            at=utcnow(),
            actor=actor.name[:200],
            key_id=actor.key_id,
            party_id=actor.party_id,
            client_id=actor.client_id,
            subject=actor.subject,
            action=action,
            resource=resource,
            record_ids=ids[:MAX_IDS],
            record_count=count if count is not None else len(ids),
            request_id=actor.request_id,
            detail=detail,
            commitment_id=commitment_id,
        )
    )


def jsonable(value: Any) -> Any:
    """A record's values as JSON (ids, dates and enums as text)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # ids, URLs


# Every update changes them, or they restate what the entry says itself (its time, its actor) or another field.
BOOKKEEPING = frozenset({"version", "updated_at", *AUTHOR_COLUMNS, PERSON_KEY})


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a write changed, as {"changes": {field: [old, new]}} (audit `detail`, as `signals.update` has it)."""
    pairs = ((k, jsonable(old[k]), jsonable(v)) for k, v in new.items() if k in old and k not in BOOKKEEPING)
    return {"changes": {k: [was, now] for k, was, now in pairs if was != now}}
