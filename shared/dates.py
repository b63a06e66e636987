"""Date arithmetic that cannot overflow: the API accepts every date from 0001-01-01 to 9999-12-31."""

from __future__ import annotations

import datetime as dt


def shift(day: dt.date, delta: dt.timedelta) -> dt.date:
    """`day + delta`, held at date.min / date.max instead of raising OverflowError at the calendar's ends."""
    try:
        return day + delta
    except OverflowError:
        return dt.date.max if delta > dt.timedelta(0) else dt.date.min
