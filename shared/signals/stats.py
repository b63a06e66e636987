"""Aggregates: the public face of signals. Small cells are suppressed (shown as '<N', never exact)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.signals import rollup
from shared.signals.models import ClientSignal, SignalCount, client_signal_themes
from shared.signals.schemas import StatsParams, TrendParams
from shared.stats import poisson_rise


def suppress(count: int, min_cell: int) -> tuple[int | str, bool]:
    if count < min_cell:
        return f"<{min_cell}", True
    return count, False


def _month(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        # asyncpg stores date.min and date.max as -infinity and infinity, which to_char makes NULL.
        return func.coalesce(func.to_char(column, "YYYY-MM"),
                             case((column > dt.date(5000, 1, 1), "9999-12"), else_="0001-01"))
    return func.strftime("%Y-%m", column)


async def signal_stats(session: AsyncSession, params: StatsParams, min_cell: int) -> dict[str, Any]:
    counts = await _counts(session, params)
    items = []
    for value in sorted(counts, key=lambda v: (v is None, v or "")):
        shown, suppressed = suppress(counts[value], min_cell)
        items.append({"group": value, "count": shown, "suppressed": suppressed})
    return {"group_by": params.group_by, "from_": params.from_, "to": params.to, "theme": params.theme,
            "kind": params.kind, "min_cell": min_cell, "items": items}


Range = tuple[dt.date | None, dt.date | None]


async def _counts(session: AsyncSession, params: StatsParams) -> dict[str | None, int]:
    """Whole, unchanged months from the monthly counts; the rest (edges, fresh months) from the signals."""
    current = await rollup.state(session)
    if params.kind or current is None:
        return await _raw_counts(session, params, [(params.from_, params.to)])
    lo, hi = params.from_, params.to
    if any(d is not None and (d < rollup.next_month(dt.date.min) or d >= rollup.LAST_MONTH) for d in (lo, hi)):
        # The calendar's first or last month: no month before or after it to split at; count it all raw.
        return await _raw_counts(session, params, [(lo, hi)])
    first = None if lo is None else (lo if lo.day == 1 else rollup.next_month(lo))
    last = None if hi is None else (
        rollup.month_start(hi) if rollup.month_end(hi) == hi
        else rollup.month_start(rollup.month_start(hi) - dt.timedelta(days=1)))
    if first is not None and last is not None and first > last:
        return await _raw_counts(session, params, [(lo, hi)])
    ranges: set[Range] = set()
    if lo is not None and first != lo:
        ranges.add((lo, first - dt.timedelta(days=1) if hi is None else min(hi, first - dt.timedelta(days=1))))
    if hi is not None and last is not None and rollup.next_month(last) <= hi:
        ranges.add((max(rollup.next_month(last), lo) if lo else rollup.next_month(last), hi))
    dirty = {m for m in await rollup.changed_months(session, current.refreshed_at - rollup.MARGIN)
             if (first is None or m >= first) and (last is None or m <= last)}
    ranges.update((m, rollup.month_end(m)) for m in dirty)
    counts = await _rollup_counts(session, params, first, last, dirty)
    if ranges:
        for value, n in (await _raw_counts(session, params, sorted(ranges, key=str))).items():
            counts[value] = counts.get(value, 0) + n
    return counts


async def _rollup_counts(session: AsyncSession, params: StatsParams, first: dt.date | None, last: dt.date | None,
                         dirty: set[dt.date]) -> dict[str | None, int]:
    c = SignalCount
    if params.group_by == "theme":
        group: Any = c.theme_key
        conds = [c.dimension == "total", c.theme_key == params.theme if params.theme else c.theme_key != rollup.ALL]
    elif params.group_by == "month":
        group = c.month
        conds = [c.dimension == "total", c.theme_key == (params.theme or rollup.ALL)]
    else:
        group = c.value
        conds = [c.dimension == params.group_by, c.theme_key == (params.theme or rollup.ALL)]
    if first is not None:
        conds.append(c.month >= first)
    if last is not None:
        conds.append(c.month <= last)
    if dirty:
        conds.append(c.month.not_in(sorted(dirty)))
    rows = (await session.execute(select(group, func.sum(c.n)).where(*conds).group_by(group))).all()
    counts: dict[str | None, int] = {}
    for value, n in rows:
        if params.group_by == "month":
            value = f"{value.year:04d}-{value.month:02d}" if isinstance(value, dt.date) else str(value)[:7]
        elif params.group_by != "theme" and value == "":
            value = None
        counts[value] = counts.get(value, 0) + int(n)
    return counts


async def _raw_counts(session: AsyncSession, params: StatsParams, ranges: list[Range]) -> dict[str | None, int]:
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    t, s = client_signal_themes.c, ClientSignal
    if params.group_by == "theme":
        # Index-only on client_signal_themes (received_date is copied there).
        group = t.theme_key
        stmt = select(group, func.count()).select_from(client_signal_themes)
        date_col = t.received_date
        if params.theme:
            stmt = stmt.where(t.theme_key == params.theme)
        if params.kind:
            stmt = stmt.join(s, s.id == t.signal_id).where(s.kind == params.kind)
    else:
        group = {"provider": s.provider_agb, "location": s.location, "zorgkantoor": s.zorgkantoor_code,
                 "month": _month(s.received_date, dialect)}[params.group_by]
        date_col = s.received_date
        if params.theme:
            stmt = (select(group, func.count()).select_from(client_signal_themes)
                    .join(s, s.id == t.signal_id).where(t.theme_key == params.theme))
            date_col = t.received_date
        else:
            stmt = select(group, func.count()).select_from(s)
        if params.kind:
            stmt = stmt.where(s.kind == params.kind)
    counts: dict[str | None, int] = {}
    # One query per date range (not one OR of ranges), so each is an index range scan.
    for lo, hi in ranges:
        parts = [date_col >= lo] if lo else []
        parts += [date_col <= hi] if hi else []
        for value, n in (await session.execute(stmt.where(*parts).group_by(group))).all():
            counts[value] = counts.get(value, 0) + int(n)
    return counts


def month_periods(until: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    periods = []
    year, month = until.year, until.month
    for _ in range(months):
        start = dt.date(year, month, 1)
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        periods.append((start, min(end, until)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(periods))


async def signal_trends(session: AsyncSession, params: TrendParams, min_cell: int,
                        today: dt.date | None = None, *, alpha: float, min_count: int) -> dict[str, Any]:
    """Monthly counts and the rise test of the last month, with the status engine's thresholds (NAKOMING_SIGNAL_ALPHA,
    NAKOMING_SIGNAL_MIN_COUNT: the same settings, passed in by the caller)."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    until = params.until or today or dt.date.today()
    periods = month_periods(until, params.months)
    t, s = client_signal_themes.c, ClientSignal
    if params.theme:
        month = _month(t.received_date, dialect)
        stmt = select(month, func.count()).select_from(client_signal_themes).where(
            t.theme_key == params.theme, t.received_date >= periods[0][0], t.received_date <= until)
        if params.provider:
            stmt = stmt.join(s, s.id == t.signal_id).where(s.provider_agb == params.provider)
    else:
        month = _month(s.received_date, dialect)
        stmt = select(month, func.count()).select_from(s).where(
            s.received_date >= periods[0][0], s.received_date <= until)
        if params.provider:
            stmt = stmt.where(s.provider_agb == params.provider)
    counts = {k: int(v) for k, v in (await session.execute(stmt.group_by(month))).all()}
    series = []
    for start, end in periods:
        key = f"{start.year:04d}-{start.month:02d}"
        shown, suppressed = suppress(counts.get(key, 0), min_cell)
        series.append({"period": key, "start": start, "end": end, "count": shown, "suppressed": suppressed,
                       "_raw": counts.get(key, 0)})
    last = series[-1]
    baseline = series[:-1]
    baseline_days = sum((p["end"] - p["start"]).days + 1 for p in baseline)
    baseline_count = sum(p["_raw"] for p in baseline)
    last_days = (last["end"] - last["start"]).days + 1
    rise = poisson_rise(last["_raw"], last_days, baseline_count, baseline_days, alpha=alpha, min_count=min_count)
    for p in series:
        p.pop("_raw")
    rate = baseline_count / baseline_days
    reason = rise.reason
    if last["suppressed"]:  # the reason quotes the count; do not let it undo the suppression
        reason = f"last period under {min_cell} signals"
    return {"theme": params.theme, "provider": params.provider, "min_cell": min_cell, "periods": series,
            "baseline_rate_per_day": round(rate, 6), "baseline_per_period": round(rate * last_days, 3),
            "last_period": last,
            "rise": {"significant": rise.significant, "p_value": round(rise.p_value, 6),
                     "expected": round(rise.expected, 3), "reason": reason}}
