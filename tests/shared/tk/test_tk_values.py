import datetime as dt

import pytest

from shared.tk.models import StatusNormalised
from shared.tk.values import normalise_status, parse_date, parse_datetime

UTC = dt.UTC


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-02-12T16:03:30Z", dt.datetime(2026, 2, 12, 16, 3, 30, tzinfo=UTC)),
        ("2025-11-14T12:20:03+0100", dt.datetime(2025, 11, 14, 11, 20, 3, tzinfo=UTC)),
        ("2025-11-14T12:19:00+01:00", dt.datetime(2025, 11, 14, 11, 19, tzinfo=UTC)),
        # naive Dutch local time with seven fractional digits: winter (+1) and summer (+2)
        ("2008-01-26T12:13:04.6270000", dt.datetime(2008, 1, 26, 11, 13, 4, 627000, tzinfo=UTC)),
        ("2008-08-26T12:13:04.6270000", dt.datetime(2008, 8, 26, 10, 13, 4, 627000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00", None),
        (None, None),
        ("", None),
    ],
)
def test_timestamps_normalise_to_utc(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-02-15T00:00:00+01:00", dt.date(2026, 2, 15)),  # a local-midnight deadline stays on its day
        ("2026-07-01T00:00:00+02:00", dt.date(2026, 7, 1)),
        ("2026-02-12T00:00:00", dt.date(2026, 2, 12)),
        ("0001-01-01T00:00:00Z", None),
        (None, None),
    ],
)
def test_dates_keep_the_written_day(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw, expected, known",
    [
        ("Openstaand", StatusNormalised.open, True),
        ("Voldaan", StatusNormalised.fulfilled, True),
        ("Deels Voldaan", StatusNormalised.partially_fulfilled, True),
        ("Deels voldaan", StatusNormalised.partially_fulfilled, True),
        ("  VERVALLEN ", StatusNormalised.lapsed, True),
        ("Afgedaan", StatusNormalised.unknown, False),
        ("Iets nieuws", StatusNormalised.unknown, False),
        (None, StatusNormalised.unknown, True),
    ],
)
def test_status_mapping(raw, expected, known):
    assert normalise_status(raw) == (expected, known)
