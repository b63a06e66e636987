"""Retention: signals past their retention date are deleted with their links and idempotency records;
the deletion is audited by count (the ids are gone, and listing them would keep what we deleted)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import SYSTEM, Actor, record
from shared.idempotency import service as idempotency
from shared.signals.models import ClientSignal

CHUNK = 5_000


async def purge_expired(session: AsyncSession, today: dt.date, *, actor: Actor = SYSTEM) -> dict[str, int]:
    """Delete signals whose retention_date is before `today`. Idempotent: a second run finds nothing."""
    signals = 0
    idempotency_records = 0
    while True:
        ids = list((await session.execute(
            select(ClientSignal.id).where(ClientSignal.retention_date < today).limit(CHUNK))).scalars())
        if not ids:
            break
        idempotency_records += await idempotency.purge(session, resource_ids=ids)
        result = await session.execute(delete(ClientSignal).where(ClientSignal.id.in_(ids)))
        signals += result.rowcount or len(ids)
    idempotency_records += await idempotency.purge(session)
    counts = {"signals": signals, "idempotency_records": idempotency_records}
    await record(session, actor, "signals.purge", "client_signal", count=signals,
                 detail={**counts, "before": today.isoformat()})
    return counts
