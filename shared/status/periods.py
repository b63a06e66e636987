"""Periods of a recurring commitment: month, quarter or year, counted from its recurrence start.

Period i runs from start + i units up to the day before start + (i + 1) units; its deadline is its last day.
A start on the 31st keeps to the month's last day where a month is shorter (31 Jan, 28 Feb, 31 Mar, ...).
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import NamedTuple

MONTHS = {"month": 1, "quarter": 3, "year": 12}
MAX_PERIODS = 1200  # a hundred years of months: more is a data error, not a schedule


class Period(NamedTuple):
    start: dt.date
    end: dt.date  # inclusive: the period's deadline


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, clamped to the last day of a shorter month (never past 9999-12-31)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if year > dt.MAXYEAR:
        return dt.date.max
    if year < dt.MINYEAR:
        return dt.date.min
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period(unit: str, start: dt.date, index: int) -> Period:
    step = MONTHS[unit]
    begin = add_months(start, step * index)
    following = add_months(start, step * (index + 1))
    return Period(begin, following - dt.timedelta(days=1) if following > begin else dt.date.max)


def is_period_start(unit: str, start: dt.date, day: dt.date) -> bool:
    return any(p.start == day for p in periods(unit, start, day, None))


def periods(unit: str, start: dt.date, as_of: dt.date, until: dt.date | None) -> list[Period]:
    """Every period that has begun by `as_of` (and, with `until`, begins on or before it)."""
    found: list[Period] = []
    last = min(as_of, until) if until is not None else as_of
    for index in range(MAX_PERIODS):
        item = period(unit, start, index)
        if item.start > last or (found and item.start == found[-1].start):
            break
        found.append(item)
    return found
