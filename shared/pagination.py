"""Keyset pagination with opaque cursors and `?sort=` over a whitelisted set of columns.

A cursor encodes the sort it was made for plus the last row's sort value and id, so a page never
skips or repeats rows while others write, and a cursor reused with another sort is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field, create_model
from sqlalchemy import Select, bindparam, func, literal_column, tuple_, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from shared.errors import BadRequest, InvalidCursor

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

# Sentinels that put NULLs last in ascending order (first in descending) on every backend. A nullable sort key
# is `coalesce(column, <literal>)`, written *literally* so that it is the very expression of the PostgreSQL
# expression indexes (migrations/versions/0012_list_indexes.py): with a bind parameter in its place no index
# could serve the order. `'9999-12-31'` is a date to PostgreSQL
# (an untyped literal takes the column's type) and the stored text form of a date to SQLite.
NULL_LAST_SQL = {
    "date": "'9999-12-31'",
    "str": "'\uffff'",
    "int": str(2**62),
    "float": "1e300",
}


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor for the next page; null on the last page."
    )


@functools.cache
def page_of(item: type[BaseModel]) -> type[Page[Any]]:
    """The page model of `item` under a readable, stable name: `CommitmentPage` for CommitmentOut (a bare
    `Page[CommitmentOut]` is `Page_CommitmentOut_` in the OpenAPI document and in generated clients)."""
    name = f"{item.__name__.removesuffix('Out')}Page"
    return create_model(name, __base__=Page[item], __module__=__name__)  # type: ignore[valid-type]


@dataclass(frozen=True)
class SortField:
    column: Any
    kind: str = "str"  # date | datetime | str | int | float | uuid
    nullable: bool = False

    def expression(self) -> ColumnElement[Any]:
        if self.nullable:
            return func.coalesce(self.column, self.null_last())
        return self.column

    def null_last(self) -> ColumnElement[Any]:
        return type_coerce(literal_column(NULL_LAST_SQL[self.kind]), self.column.type)


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decode_value(kind: str, raw: Any) -> Any:
    try:
        if kind == "date":
            return dt.date.fromisoformat(raw)
        if kind == "datetime":
            return dt.datetime.fromisoformat(raw)
        if kind == "uuid":
            return uuid.UUID(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if not isinstance(raw, str):
            raise TypeError
        return raw
    except (TypeError, ValueError) as exc:
        raise InvalidCursor("The cursor is malformed; start again without `cursor`.") from exc


def encode_cursor(sort: str, value: Any, row_id: Any) -> str:
    payload = orjson.dumps({"s": sort, "v": _encode_value(value), "i": str(row_id)})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or not {"s", "v", "i"} <= data.keys():
            raise ValueError
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor("The cursor is malformed; start again without `cursor`.") from exc
    if data["s"] != sort:
        raise InvalidCursor(
            f"This cursor was made for sort={data['s']!r}, not {sort!r}; keep the same sort while paging."
        )
    return data["v"], data["i"]


@dataclass
class Sorting:
    fields: dict[str, SortField]
    id_column: Any
    default: str
    id_kind: str = "uuid"

    def parse(self, sort: str | None) -> tuple[str, SortField, bool]:
        sort = sort or self.default
        desc = sort.startswith("-")
        name = sort.lstrip("-")
        if name not in self.fields:
            allowed = ", ".join(sorted(self.fields))
            raise BadRequest(
                f"Unknown sort field {name!r}; use one of: {allowed} (prefix '-' for descending).",
                errors=[{"loc": ["query", "sort"], "msg": f"unknown sort field {name!r}", "type": "enum"}],
            )
        return sort, self.fields[name], desc

    def keyset(
        self, sort: str | None, cursor: str | None
    ) -> tuple[str, SortField, bool, ColumnElement[Any] | None]:
        """The sort and, with a cursor, the condition "after the cursor's row" (named binds only).

        The condition is a row comparison, `(key, id) > (:value, :id)`: PostgreSQL and SQLite both turn it into
        the start of an index range over (key, id), so a deep page costs what the first one does. (The
        equivalent `key > v OR (key = v AND id > i)` is only a filter: the scan would start at the index's
        beginning and step over every earlier row.)"""
        sort_key, field, desc = self.parse(sort)
        if not cursor:
            return sort_key, field, desc, None
        expr = field.expression()
        raw_value, raw_id = decode_cursor(cursor, sort_key)
        value = _decode_value(field.kind, raw_value) if raw_value is not None else None
        if value is None and field.nullable:
            # The sentinel's own literal, not a bind: asyncpg sends date(9999, 12, 31) as 'infinity'.
            last_value: Any = field.null_last()
        else:
            last_value = bindparam("cursor_value", value, type_=field.column.type)
        last_id = bindparam("cursor_id", _decode_value(self.id_kind, raw_id), type_=self.id_column.type)
        row, last = tuple_(expr, self.id_column), tuple_(last_value, last_id)
        cond = row < last if desc else row > last
        return sort_key, field, desc, cond

    def apply(
        self, stmt: Select[Any], sort: str | None, cursor: str | None, limit: int
    ) -> tuple[Select[Any], str, SortField]:
        sort_key, field, desc, after = self.keyset(sort, cursor)
        if after is not None:
            stmt = stmt.where(after)
        expr = field.expression()
        order = (expr.desc(), self.id_column.desc()) if desc else (expr.asc(), self.id_column.asc())
        return stmt.order_by(*order).limit(bindparam("page_limit", limit + 1)), sort_key, field

    def page(
        self, rows: list[Any], sort_key: str, field: SortField, limit: int, get: Any = getattr
    ) -> tuple[list[Any], str | None]:
        """Trim the `limit + 1` rows `apply` asked for to one page and make the cursor from its last row.

        `get(row, name)` reads a column from a row: `getattr` for ORM objects, `dict.get` for mappings.
        """
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor(sort_key, get(last, field.column.key), get(last, self.id_column.key))
