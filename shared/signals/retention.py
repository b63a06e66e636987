"""Retention: signals past their retention date are deleted with their links and idempotency records;
the deletion is audited by count (the ids are gone, and listing them would keep what we deleted)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import SYSTEM, Actor, record
from shared.db import rowcount
from shared.idempotency import service as idempotency
from shared.signals import rollup
from shared.signals.models import ClientSignal

CHUNK = 5_000


async def purge_expired(session: AsyncSession, today: dt.date, *, actor: Actor = SYSTEM) -> dict[str, int]:
    """Delete signals whose retention_date is before `today`. Idempotent: a second run finds nothing."""
    signals = 0
    idempotency_records = 0
    months: set[dt.date] = set()
    while True:
        rows = (
            await session.execute(
                select(ClientSignal.id, ClientSignal.received_date)
                .where(ClientSignal.retention_date < today)
                .limit(CHUNK)
            )
        ).all()
        if not rows:
            break
        ids = [r[0] for r in rows]
        months.update(rollup.month_start(r[1]) for r in rows)
        idempotency_records += await idempotency.purge(session, resource_ids=ids)
        result = await session.execute(delete(ClientSignal).where(ClientSignal.id.in_(ids)))
        signals += rowcount(result) or len(ids)
    idempotency_records += await idempotency.purge(session)
    if months and await rollup.state(session) is not None:
        await rollup.refresh(session, months)  # the monthly counts must not outlive the signals
    counts = {"signals": signals, "idempotency_records": idempotency_records}
    await record(
        session,
        actor,
        "signals.purge",
        "client_signal",
        count=signals,
        detail={**counts, "before": today.isoformat()},
    )
    return counts
