"""The three export formats: which one a request gets, and each one's streaming writer.

A writer turns batches of rows (lists of cell values, in column order) into chunks of bytes, one batch at a time,
so an export of any length holds one batch in memory (XLSX: xlsxwriter's constant_memory mode writes each row to a
temporary file as it comes; the finished workbook is then streamed from disk in chunks).

Every string cell passes the BSN screen (shared/signals/privacy.py) on the way out, whatever the format: stored
text was screened on its way in, but TK texts come from the parliament's feed. In CSV a string cell that a
spreadsheet would read as a formula (starting with = + - @, tab or carriage return) is prefixed with a single
quote, as OWASP's "CSV injection" advice has it; XLSX cells are written as strings, never as formulas.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import enum
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
import xlsxwriter

from shared.errors import NotAcceptable
from shared.signals.privacy import redact_bsn


class ExportFormat(enum.StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv",
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DEFAULT_FORMAT = ExportFormat.csv  # for `Accept: */*`, `text/*` or no Accept at all
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024
LIST_SEPARATOR = "; "  # several values in one CSV or XLSX cell (themes, ids); NDJSON keeps them as arrays


def _ranges(accept: str) -> list[tuple[float, int, str]]:
    """(-q, position, media range) of each range in an Accept header with q > 0, best first."""
    ranked = []
    for position, part in enumerate(accept.split(",")[:50]):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, position, media.lower()))
    return sorted(ranked)


def _matches(media_range: str, media_type: str) -> bool:
    if media_range == "*/*":
        return True
    kind, _, sub = media_range.partition("/")
    return (sub == "*" and media_type.startswith(kind + "/")) or media_range == media_type


def choose_format(explicit: ExportFormat | None, accept: str | None) -> ExportFormat:
    """`?format=` when given, else the best media type of `Accept` we produce; NotAcceptable (406) when none."""
    if explicit is not None:
        return explicit
    if not accept or not accept.strip():
        return DEFAULT_FORMAT
    for _, _, media_range in _ranges(accept):
        for fmt in (DEFAULT_FORMAT, *ExportFormat):
            if _matches(media_range, MEDIA_TYPES[fmt]):
                return fmt
    produced = ", ".join(MEDIA_TYPES.values())
    raise NotAcceptable(
        f"Exports are produced as {produced}; send one of them in Accept, or ?format=csv|ndjson|xlsx."
    )


def _same(value: Any) -> Any:
    return value


def _listed(value: Any) -> list[Any]:
    return [plain(v) for v in value]


# A converter per exact type: a million cells cost a dict lookup each instead of a chain of isinstance checks.
_PLAIN: dict[type, Callable[[Any], Any]] = {
    str: redact_bsn,
    type(None): _same,
    bool: _same,
    int: _same,
    float: _same,
    dt.date: _same,
    dt.datetime: _same,  # orjson writes ISO dates and times
    uuid.UUID: str,
    list: _listed,
    tuple: _listed,
}
_BASES = (
    str,
    bool,
    int,
    float,
    dt.datetime,
    dt.date,
    uuid.UUID,
    list,
    tuple,
)  # subclasses before their bases


def _plain_of(kind: type) -> Callable[[Any], Any]:
    """The converter of a type outside the table, found once per type: an enum by its value, a subclass (asyncpg's
    UUID, which orjson does not know) as its base, anything else as screened text."""
    if issubclass(kind, enum.Enum):
        return lambda value: plain(value.value)
    base = next((b for b in _BASES if issubclass(kind, b)), None)
    return _PLAIN[base] if base is not None else lambda value: redact_bsn(str(value))


def plain(value: Any) -> Any:
    """A cell as NDJSON writes it: JSON types, lists kept; every string screened."""
    convert = _PLAIN.get(type(value))
    if convert is None:
        convert = _PLAIN[type(value)] = _plain_of(type(value))
    return convert(value)


def _flat(value: Any) -> Any:
    """A cell for CSV and XLSX: lists joined, other values as `plain` has them."""
    value = plain(value)
    if type(value) is list:
        return LIST_SEPARATOR.join(str(v) for v in value)
    return value


def neutralised(value: str) -> str:
    """A CSV string cell that no spreadsheet reads as a formula (OWASP: prefix a single quote)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


_CSV: dict[type, Callable[[Any], Any]] = {
    str: lambda value: neutralised(redact_bsn(value)),
    type(None): _same,
    int: _same,
    float: _same,
    bool: lambda value: "true" if value else "false",
    dt.date: dt.date.isoformat,
    dt.datetime: lambda value: value.isoformat().replace("+00:00", "Z"),
}


def csv_cell(value: Any) -> Any:
    convert = _CSV.get(type(value))
    if convert is not None:  # the common cell: text, a number, a date, nothing
        return convert(value)
    value = _flat(value)  # lists, ids, enums: as plain text (screened there), then as any text
    return neutralised(value) if isinstance(value, str) else _CSV.get(type(value), _same)(value)


async def csv_stream(header: Sequence[str], batches: AsyncIterator[list[list[Any]]]) -> AsyncIterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    yield out.getvalue().encode()
    async for rows in batches:
        out.seek(0)
        out.truncate()
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        yield out.getvalue().encode()


async def ndjson_stream(
    header: Sequence[str], batches: AsyncIterator[list[list[Any]]]
) -> AsyncIterator[bytes]:
    names = list(header)
    async for rows in batches:
        yield b"".join(
            orjson.dumps(
                {name: plain(v) for name, v in zip(names, row)},
                option=orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE,
            )
            for row in rows
        )


class _Sheet:
    """One worksheet in xlsxwriter's constant_memory mode (rows go to a temporary file as they are written)."""

    def __init__(self, target: Any, title: str) -> None:
        self.book = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,
                "remove_timezone": True,
                # Written as what they are; a string is never read as a formula, a number or a URL.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.sheet = self.book.add_worksheet(title[:31])
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.moment = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.bold = self.book.add_format({"bold": True})
        self.row = 0

    def write(self, values: Sequence[Any], bold: bool = False) -> None:
        for col, value in enumerate(values):
            value = _flat(value)
            if value is None or value == "":
                continue
            if isinstance(value, str):
                self.sheet.write_string(self.row, col, value, self.bold if bold else None)
            elif isinstance(value, bool):
                self.sheet.write_boolean(self.row, col, value)
            elif isinstance(value, (int, float)):
                self.sheet.write_number(self.row, col, value)
            elif isinstance(value, dt.datetime):
                self.sheet.write_datetime(self.row, col, value.astimezone(dt.UTC), self.moment)
            elif isinstance(value, dt.date):
                self.sheet.write_datetime(self.row, col, value, self.date)
            else:
                self.sheet.write_string(self.row, col, str(value))
        self.row += 1


async def xlsx_stream(
    header: Sequence[str], batches: AsyncIterator[list[list[Any]]], title: str = "export"
) -> AsyncIterator[bytes]:
    with tempfile.TemporaryFile() as target:
        sheet = _Sheet(target, title)
        sheet.write(header, bold=True)
        async for rows in batches:
            for row in rows:
                sheet.write(row)
        sheet.sheet.freeze_panes(1, 0)
        await asyncio.to_thread(sheet.book.close)  # zips the sheet: CPU and disk, off the event loop
        target.seek(0)
        while chunk := await asyncio.to_thread(target.read, CHUNK_BYTES):
            yield chunk


def stream(
    fmt: ExportFormat, header: Sequence[str], batches: AsyncIterator[list[list[Any]]], title: str
) -> AsyncIterator[bytes]:
    """The export's bytes in `fmt`: the header (column names), then each batch of rows as it is read."""
    if fmt is ExportFormat.xlsx:
        return xlsx_stream(header, batches, title)
    return csv_stream(header, batches) if fmt is ExportFormat.csv else ndjson_stream(header, batches)
