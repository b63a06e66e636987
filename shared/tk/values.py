"""Value normalisation for the feed's quirks: timestamps, dates, booleans, toezegging status."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

from shared.tk.models import StatusNormalised

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_OFFSET_NO_COLON = re.compile(r"([+-]\d\d)(\d\d)$")
_FRACTION = re.compile(r"\.(\d+)")


def _is_null_date(value: str) -> bool:
    # 0001-01-01 is the source system's "no date".
    return value.startswith("0001-01-01")


def parse_datetime(value: str | None) -> dt.datetime | None:
    """Any feed timestamp as an aware UTC datetime: `Z`, `+01:00`, `+0100`, or naive Dutch local time."""
    if not value:
        return None
    value = value.strip()
    if _is_null_date(value):
        return None
    try:  # fast path: Python 3.11 reads Z, +01:00 and +0100
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_irregular(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=AMSTERDAM)
    return parsed.astimezone(dt.UTC)


def _parse_irregular(value: str) -> dt.datetime:
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    value = _OFFSET_NO_COLON.sub(r"\1:\2", value) if "T" in value else value
    fraction = _FRACTION.search(value)
    if fraction and len(fraction.group(1)) > 6:  # .NET writes seven fractional digits
        value = value[: fraction.start(1)] + fraction.group(1)[:6] + value[fraction.end(1) :]
    return dt.datetime.fromisoformat(value)


def parse_date(value: str | None) -> dt.date | None:
    """The calendar date as written (a deadline at local midnight must not shift to the day before)."""
    if not value:
        return None
    value = value.strip()
    if _is_null_date(value):
        return None
    return dt.date.fromisoformat(value[:10])


def parse_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    value = value.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def parse_int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# The schema's four values (tkData-v1-0-toezegging.xsd); anything else (e.g. "Afgedaan") is kept raw,
# normalised to `unknown`, logged and counted, rather than guessed.
_STATUS_MAP = {
    "openstaand": StatusNormalised.open,
    "voldaan": StatusNormalised.fulfilled,
    "deels voldaan": StatusNormalised.partially_fulfilled,
    "vervallen": StatusNormalised.lapsed,
}


def normalise_status(raw: str | None) -> tuple[StatusNormalised, bool]:
    """Map a raw status case-insensitively; the flag says whether the value was known."""
    if raw is None or not raw.strip():
        return StatusNormalised.unknown, True
    key = " ".join(raw.split()).lower()
    found = _STATUS_MAP.get(key)
    if found is None:
        return StatusNormalised.unknown, False
    return found, True
