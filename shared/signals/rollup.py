"""Monthly signal counts for /stats, so aggregates over millions of signals read thousands of rows.

The counts are rebuilt per month by a job (every minute, and after each batch), never on the intake path
(no hot counter rows under concurrent writes). They stay exact: /stats reads from the counts only whole
months in which no signal was created after the last refresh (minus a safety MARGIN for transactions that
were still open); other months and partial months at the edges of `from`/`to` are counted from the
signals themselves. The retention purge refreshes the months it deleted from in its own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, cast, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.signals.models import ClientSignal, SignalCount, SignalCountState, client_signal_themes

MARGIN = dt.timedelta(minutes=10)
ALL = "*"
DIMENSIONS = {
    "provider": ClientSignal.provider_agb,
    "location": ClientSignal.location,
    "zorgkantoor": ClientSignal.zorgkantoor_code,
}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


# The calendar's last month has no next month: code that needs one checks against LAST_MONTH first.
LAST_MONTH = dt.date.max.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month (defined for December 9999 too)."""
    return dt.date.max if day >= LAST_MONTH else next_month(day) - dt.timedelta(days=1)


def month_expr(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month")


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def state(session: AsyncSession) -> SignalCountState | None:
    return await session.get(SignalCountState, 1)


async def changed_months(session: AsyncSession, since: dt.datetime) -> set[dt.date]:
    """Months (of received_date) of signals created after `since`."""
    dialect = session.bind.dialect.name
    stmt = (
        select(month_expr(ClientSignal.received_date, dialect))
        .where(ClientSignal.created_at > since)
        .distinct()
    )
    return {_as_date(v) for v in (await session.execute(stmt)).scalars()}


async def all_months(session: AsyncSession) -> set[dt.date]:
    dialect = session.bind.dialect.name
    stmt = select(month_expr(ClientSignal.received_date, dialect)).distinct()
    return {_as_date(v) for v in (await session.execute(stmt)).scalars()}


async def refresh(session: AsyncSession, months: Iterable[dt.date] | None = None) -> int:
    """Rebuild the counts of `months` (default: every month changed since the last refresh). Idempotent."""
    started = utcnow()
    current = await state(session)
    if months is None:
        months = (
            await all_months(session)
            if current is None
            else await changed_months(session, current.refreshed_at - MARGIN)
        )
        mark = True
    else:
        mark = False
    targets = sorted({month_start(m) for m in months})
    for month in targets:
        await _rebuild_month(session, month)
    if mark:
        if current is None:
            session.add(SignalCountState(id=1, refreshed_at=started))
        else:
            current.refreshed_at = started
        await session.flush()
    return len(targets)


async def _rebuild_month(session: AsyncSession, month: dt.date) -> None:
    end = month_end(month)
    s, t = ClientSignal, client_signal_themes.c
    await session.execute(delete(SignalCount).where(SignalCount.month == month))
    cols = ["dimension", "theme_key", "month", "value", "n"]
    in_month = (s.received_date >= month, s.received_date <= end)
    themed_in_month = (t.received_date >= month, t.received_date <= end)
    statements = [
        select(literal("total"), literal(ALL), literal(month, Date), literal(""), func.count())
        .select_from(s)
        .where(*in_month)
        .having(func.count() > 0),
        select(literal("total"), t.theme_key, literal(month, Date), literal(""), func.count())
        .select_from(client_signal_themes)
        .where(*themed_in_month)
        .group_by(t.theme_key),
    ]
    for name, column in DIMENSIONS.items():
        value = func.coalesce(column, "")
        statements.append(
            select(literal(name), literal(ALL), literal(month, Date), value, func.count())
            .select_from(s)
            .where(*in_month)
            .group_by(value)
        )
        statements.append(
            select(literal(name), t.theme_key, literal(month, Date), value, func.count())
            .select_from(client_signal_themes)
            .join(s, s.id == t.signal_id)
            .where(*themed_in_month)
            .group_by(t.theme_key, value)
        )
    for stmt in statements:
        await session.execute(insert(SignalCount).from_select(cols, stmt))
