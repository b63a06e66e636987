"""Aggregates: the public face of signals. Counts per group and month are read here; what may be shown of them
is decided by shared/signals/disclosure.py (no count under NAKOMING_MIN_CELL computable from two answers)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.signals import disclosure, rollup
from shared.signals.models import ClientSignal, SignalCount, client_signal_themes
from shared.signals.schemas import StatsParams, TrendParams
from shared.stats import poisson_rise


def shown(count: int, reason: str | None, min_cell: int) -> dict[str, Any]:
    """A count as published: exact, '<N' when small, null when withheld for another reason."""
    if reason is None:
        return {"count": count, "suppressed": False, "reason": None}
    return {
        "count": f"<{min_cell}" if reason == disclosure.SMALL else None,
        "suppressed": True,
        "reason": reason,
    }


def whole_months(params: StatsParams) -> StatsParams:
    """The window widened to whole calendar months: two windows a day apart must give the same answer."""
    lo = None if params.from_ is None else rollup.month_start(params.from_)
    hi = None if params.to is None else rollup.month_end(params.to)
    return params.model_copy(update={"from_": lo, "to": hi})


def _parents(params: StatsParams) -> list[StatsParams]:
    """The same query with each combination of its filters dropped (the answers a complement is taken from)."""
    drops = [{"theme": None}, {"kind": None}, {"theme": None, "kind": None}]
    wanted = [d for d in drops if all(getattr(params, k) is not None for k in d)]
    return [params.model_copy(update=d) for d in wanted]


async def signal_stats(session: AsyncSession, params: StatsParams, min_cell: int) -> dict[str, Any]:
    params = whole_months(params)
    known: dict[tuple[Any, ...], Counts] = {}
    if params.kind and params.theme and params.group_by != "theme":
        # Both answers that need the signals themselves (a kind has no monthly counts), in one scan.
        known[_key(params)], known[_key(params.model_copy(update={"theme": None}))] = await _raw_pair(
            session, params
        )

    async def counts_of(p: StatsParams) -> Counts:
        return known[_key(p)] if _key(p) in known else await _counts(session, p)

    atoms = _by_group(await counts_of(params))
    parents = [_by_group(await counts_of(p)) for p in _parents(params)]
    groups = sorted(atoms, key=lambda v: (v is None, v or ""))
    counts = [sum(atoms[v].values()) for v in groups]
    primary: list[str | None] = [
        disclosure.primary(n, atoms[v], [p.get(v, {}) for p in parents], min_cell)
        for v, n in zip(groups, counts)
    ]
    reasons: list[str | None] | None = primary
    if params.group_by != "month":  # a month series needs none (shared/signals/disclosure.py)
        reasons = disclosure.secondary(counts, primary, min_cell, lo=1)
    out: dict[str, Any] = {
        "group_by": params.group_by,
        "from_": params.from_,
        "to": params.to,
        "theme": params.theme,
        "kind": params.kind,
        "min_cell": min_cell,
        "suppressed": reasons is None,
        "reason": disclosure.TABLE if reasons is None else None,
        "items": [],
    }
    if reasons is not None:
        out["items"] = [{"group": v, **shown(n, r, min_cell)} for v, n, r in zip(groups, counts, reasons)]
    return out


def _by_group(counts: Counts) -> dict[str | None, dict[str, int]]:
    out: dict[str | None, dict[str, int]] = {}
    for (value, month), n in counts.items():
        if n:
            out.setdefault(value, {})[month] = out.get(value, {}).get(month, 0) + n
    return out


Range = tuple[dt.date | None, dt.date | None]
Counts = dict[tuple[str | None, str], int]  # (group, "YYYY-MM") -> signals


async def _counts(session: AsyncSession, params: StatsParams) -> Counts:
    """Counts per group and month. Whole, unchanged months from the monthly counts; the rest (edges, fresh
    months) from the signals."""
    current = await rollup.state(session)
    if params.kind or current is None:
        return await _raw_counts(session, params, [(params.from_, params.to)])
    lo, hi = params.from_, params.to
    if any(
        d is not None and (d < rollup.next_month(dt.date.min) or d >= rollup.LAST_MONTH) for d in (lo, hi)
    ):
        # The calendar's first or last month: no month before or after it to split at; count it all raw.
        return await _raw_counts(session, params, [(lo, hi)])
    first = None if lo is None else (lo if lo.day == 1 else rollup.next_month(lo))
    last = (
        None
        if hi is None
        else (
            rollup.month_start(hi)
            if rollup.month_end(hi) == hi
            else rollup.month_start(rollup.month_start(hi) - dt.timedelta(days=1))
        )
    )
    if first is not None and last is not None and first > last:
        return await _raw_counts(session, params, [(lo, hi)])
    ranges: set[Range] = set()
    if lo is not None and first is not None and first != lo:
        ranges.add(
            (lo, first - dt.timedelta(days=1) if hi is None else min(hi, first - dt.timedelta(days=1)))
        )
    if hi is not None and last is not None and rollup.next_month(last) <= hi:
        ranges.add((max(rollup.next_month(last), lo) if lo else rollup.next_month(last), hi))
    dirty = {
        m
        for m in await rollup.changed_months(session, current.refreshed_at - rollup.MARGIN)
        if (first is None or m >= first) and (last is None or m <= last)
    }
    ranges.update((m, rollup.month_end(m)) for m in dirty)
    counts = await _rollup_counts(session, params, first, last, dirty)
    if ranges:
        for key, n in (await _raw_counts(session, params, sorted(ranges, key=str))).items():
            counts[key] = counts.get(key, 0) + n
    return counts


async def _rollup_counts(
    session: AsyncSession,
    params: StatsParams,
    first: dt.date | None,
    last: dt.date | None,
    dirty: set[dt.date],
) -> Counts:
    c = SignalCount
    if params.group_by == "theme":
        group: Any = c.theme_key
        conds = [
            c.dimension == "total",
            c.theme_key == params.theme if params.theme else c.theme_key != rollup.ALL,
        ]
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
    rows = (
        await session.execute(select(group, c.month, func.sum(c.n)).where(*conds).group_by(group, c.month))
    ).all()
    counts: Counts = {}
    for value, month, n in rows:
        month = _month_key(month)
        if params.group_by == "month":
            value = month
        elif params.group_by != "theme" and value == "":
            value = None
        counts[value, month] = counts.get((value, month), 0) + int(n)
    return counts


def _key(params: StatsParams) -> tuple[Any, ...]:
    return (params.group_by, params.from_, params.to, params.theme, params.kind)


async def _raw_pair(session: AsyncSession, params: StatsParams) -> tuple[Counts, Counts]:
    """Counts per group and month of the signals of `params.kind`, with and without `params.theme`, in one scan of
    the signals (what `_raw_counts` gives for each, at half the reads)."""
    dialect = session.bind.dialect.name
    t, s = client_signal_themes.c, ClientSignal
    group = {
        "provider": s.provider_agb,
        "location": s.location,
        "zorgkantoor": s.zorgkantoor_code,
        "month": rollup.month_expr(s.received_date, dialect),
    }[params.group_by]
    month = rollup.month_expr(s.received_date, dialect)
    # An outer join on (signal, theme), unique per pair: one hash join, a row per signal; the theme's count is the
    # number of rows that found a partner.
    stmt = (
        select(group, month, func.count(), func.count(t.signal_id))
        .select_from(
            ClientSignal.__table__.outerjoin(
                client_signal_themes, (t.signal_id == s.id) & (t.theme_key == params.theme)
            )
        )
        .where(s.kind == params.kind)
    )
    if params.from_:
        stmt = stmt.where(s.received_date >= params.from_)
    if params.to:
        stmt = stmt.where(s.received_date <= params.to)
    with_theme: Counts = {}
    without_theme: Counts = {}
    for value, day, n, themed in (await session.execute(stmt.group_by(group, month))).all():
        key = (_month_key(value) if params.group_by == "month" else value, _month_key(day))
        without_theme[key] = without_theme.get(key, 0) + int(n)
        if themed:
            with_theme[key] = with_theme.get(key, 0) + int(themed)
    return with_theme, without_theme


def _month_key(value: Any) -> str:
    return f"{value.year:04d}-{value.month:02d}" if isinstance(value, dt.date) else str(value)[:7]


async def _raw_counts(session: AsyncSession, params: StatsParams, ranges: list[Range]) -> Counts:
    dialect = session.bind.dialect.name
    t, s = client_signal_themes.c, ClientSignal
    if params.group_by == "theme":
        # Index-only on client_signal_themes (received_date is copied there).
        group = t.theme_key
        date_col: Any = t.received_date
        month = rollup.month_expr(date_col, dialect)
        stmt = select(group, month, func.count()).select_from(client_signal_themes)
        if params.theme:
            stmt = stmt.where(t.theme_key == params.theme)
        if params.kind:
            stmt = stmt.join(s, s.id == t.signal_id).where(s.kind == params.kind)
    else:
        group = {
            "provider": s.provider_agb,
            "location": s.location,
            "zorgkantoor": s.zorgkantoor_code,
            "month": rollup.month_expr(s.received_date, dialect),
        }[params.group_by]
        date_col = t.received_date if params.theme else s.received_date
        month = rollup.month_expr(date_col, dialect)
        if params.theme:
            stmt = (
                select(group, month, func.count())
                .select_from(client_signal_themes)
                .join(s, s.id == t.signal_id)
                .where(t.theme_key == params.theme)
            )
        else:
            stmt = select(group, month, func.count()).select_from(s)
        if params.kind:
            stmt = stmt.where(s.kind == params.kind)
    counts: Counts = {}
    # One query per date range (not one OR of ranges), so each is an index range scan.
    for lo, hi in ranges:
        parts = [date_col >= lo] if lo else []
        parts += [date_col <= hi] if hi else []
        for value, day, n in (await session.execute(stmt.where(*parts).group_by(group, month))).all():
            # Months as their first day (date_trunc: cheaper than formatting every row), named here.
            key = (_month_key(value) if params.group_by == "month" else value, _month_key(day))
            counts[key] = counts.get(key, 0) + int(n)
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


async def _monthly(
    session: AsyncSession, theme: str | None, provider: str | None, first: dt.date, until: dt.date
) -> dict[str, int]:
    dialect = session.bind.dialect.name
    t, s = client_signal_themes.c, ClientSignal
    if theme:
        month = rollup.month_expr(t.received_date, dialect)
        stmt = (
            select(month, func.count())
            .select_from(client_signal_themes)
            .where(t.theme_key == theme, t.received_date >= first, t.received_date <= until)
        )
        if provider:
            stmt = stmt.join(s, s.id == t.signal_id).where(s.provider_agb == provider)
    else:
        month = rollup.month_expr(s.received_date, dialect)
        stmt = (
            select(month, func.count())
            .select_from(s)
            .where(s.received_date >= first, s.received_date <= until)
        )
        if provider:
            stmt = stmt.where(s.provider_agb == provider)
    return {_month_key(k): int(v) for k, v in (await session.execute(stmt.group_by(month))).all()}


async def signal_trends(
    session: AsyncSession,
    params: TrendParams,
    min_cell: int,
    today: dt.date | None = None,
    *,
    alpha: float,
    min_count: int,
) -> dict[str, Any]:
    """Monthly counts and the rise test of the last month, with the status engine's thresholds (NAKOMING_SIGNAL_ALPHA,
    NAKOMING_SIGNAL_MIN_COUNT: the same settings, passed in by the caller). Periods are whole calendar months (the
    last one is the month of `until`); figures are hidden by the rules of shared/signals/disclosure.py, and the
    baseline and the rise test are withheld whenever a count they are computed from is hidden."""
    today = today or dt.date.today()
    until = rollup.month_end(params.until or today)
    periods = month_periods(until, params.months)
    first = periods[0][0]
    counts = await _monthly(session, params.theme, params.provider, first, until)
    drops = [(None, params.provider), (params.theme, None), (None, None)]
    parents = [
        await _monthly(session, theme, provider, first, until)
        for theme, provider in dict.fromkeys(drops)
        if (theme, provider) != (params.theme, params.provider)
    ]
    series, raw = [], []
    for start, end in periods:
        key = f"{start.year:04d}-{start.month:02d}"
        n = counts.get(key, 0)
        reason = disclosure.primary(n, {key: n}, [{key: p.get(key, 0)} for p in parents], min_cell)
        series.append({"period": key, "start": start, "end": end, **shown(n, reason, min_cell)})
        raw.append(n)
    last, baseline = series[-1], series[:-1]
    baseline_days = sum((p["end"] - p["start"]).days + 1 for p in baseline)
    # The last month counts the days it has had so far (its end is in the future while it runs).
    last_days = (min(last["end"], max(today, last["start"])) - last["start"]).days + 1
    out: dict[str, Any] = {
        "theme": params.theme,
        "provider": params.provider,
        "min_cell": min_cell,
        "periods": series,
        "last_period": last,
    }
    if any(p["suppressed"] for p in baseline):
        out.update(
            baseline_rate_per_day=None,
            baseline_per_period=None,
            baseline_suppressed=True,
            baseline_reason="a month of the baseline is hidden; the rate would reveal its count",
            rise={
                "significant": None,
                "p_value": None,
                "expected": None,
                "suppressed": True,
                "reason": "withheld: the baseline depends on a hidden month",
            },
        )
        return out
    baseline_count = sum(raw[:-1])
    rate = baseline_count / baseline_days
    out.update(
        baseline_rate_per_day=round(rate, 6),
        baseline_per_period=round(rate * last_days, 3),
        baseline_suppressed=False,
        baseline_reason=None,
    )
    if last["suppressed"]:  # p and significance are functions of the hidden count
        out["rise"] = {
            "significant": None,
            "p_value": None,
            "expected": round(rate * last_days, 3),
            "suppressed": True,
            "reason": f"withheld: the last period is hidden ({last['reason']})",
        }
        return out
    rise = poisson_rise(raw[-1], last_days, baseline_count, baseline_days, alpha=alpha, min_count=min_count)
    out["rise"] = {
        "significant": rise.significant,
        "p_value": round(rise.p_value, 6),
        "expected": round(rise.expected, 3),
        "suppressed": False,
        "reason": rise.reason,
    }
    return out
