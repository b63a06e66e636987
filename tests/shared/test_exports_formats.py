"""The export writers without a database: any text survives a CSV round trip, never as a formula, never with a BSN."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import NotAcceptable
from shared.exports.formats import FORMULA_STARTS, MEDIA_TYPES, ExportFormat, choose_format, stream
from shared.signals.privacy import holds_bsn, redact_bsn

# Text as users and feeds write it (control characters other than tab, CR and LF are refused on the way in).
cells = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    st.sampled_from(["=1+1", "+31 6", "-5", "@SUM(A1)", "\tx", "\rx", "111222333", "a 111 222 333"]),
)


async def _batches(rows: list[list[Any]]) -> AsyncIterator[list[list[Any]]]:
    for start in range(0, len(rows), 3):
        yield rows[start : start + 3]


def _written(fmt: ExportFormat, rows: list[list[Any]]) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in stream(fmt, ["a", "b"], _batches(rows), "t")])

    return asyncio.run(collect())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, min_size=2, max_size=2), max_size=8))
def test_csv_cells_are_text_never_formulas_never_bsn(rows: list[list[str]]) -> None:
    back = list(csv.reader(io.StringIO(_written(ExportFormat.csv, rows).decode(), newline="")))
    assert back[0] == ["a", "b"] and len(back) == len(rows) + 1
    for written, original in zip(back[1:], rows):
        for cell, value in zip(written, original):
            assert not cell.startswith(FORMULA_STARTS) and not holds_bsn(cell)
            screened = redact_bsn(value)
            assert cell == ("'" + screened if screened.startswith(FORMULA_STARTS) else screened)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(cells, min_size=2, max_size=2), max_size=8))
def test_ndjson_keeps_text_as_it_is_but_for_bsn(rows: list[list[str]]) -> None:
    lines = _written(ExportFormat.ndjson, rows).splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"a": redact_bsn(a), "b": redact_bsn(b)} for a, b in rows
    ]


@given(st.sampled_from(list(ExportFormat)), st.text(max_size=60))
def test_format_parameter_beats_any_accept(fmt: ExportFormat, accept: str) -> None:
    assert choose_format(fmt, accept) is fmt


def test_accept_negotiation() -> None:
    xlsx = MEDIA_TYPES[ExportFormat.xlsx]
    assert choose_format(None, None) is ExportFormat.csv
    assert choose_format(None, "application/*") is ExportFormat.ndjson
    assert choose_format(None, f"text/csv;q=0, {xlsx}") is ExportFormat.xlsx
    assert choose_format(None, "APPLICATION/X-NDJSON; charset=utf-8") is ExportFormat.ndjson
    for refused in ("application/json", "text/csv;q=0", "image/*", "text/html, application/pdf;q=0.5"):
        with pytest.raises(NotAcceptable):
            choose_format(None, refused)
