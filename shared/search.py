"""`q`: case-insensitive substring search that a text index answers on both backends.

Semantics (the same on PostgreSQL and SQLite, and what the lists always promised): a row matches when `q`
occurs, ignoring case, inside any of the searched columns; `%`, `_` and `\\` are plain characters.

* PostgreSQL: `lower(column) LIKE '%q%'` served by a trigram GIN index on `lower(column)` (pg_trgm), one per
  searched column; several columns become a BitmapOr of their indexes.
* SQLite: an FTS5 table with the trigram tokenizer over the same columns (external content, kept in sync by
  triggers; migrations/versions/0012_list_indexes.py). A phrase query of the trigram tokenizer is a
  case-insensitive substring match.

A trigram index needs at least three characters: a one- or two-character `q` is answered by a scan (still
correct, only slower). Where the lists sort the result, PostgreSQL chooses between walking the sort's index and
filtering (a common word) and collecting the matches from the trigram index and sorting them (a rare one) by its
statistics on the indexed expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, column, func, literal_column, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import NULLTYPE
from sqlalchemy.sql.visitors import InternalTraversal

# Below this many characters the trigram indexes cannot help (see module doc).
TRIGRAM = 3


class PerDialect(ColumnElement[Any]):
    """A condition written once per backend; the compiler renders the one for the dialect at hand. Both
    branches are children, so `shared.pg.bound_values` sees every named bind of the PostgreSQL one."""

    inherit_cache = True
    # Not Boolean: SQLite would compare the whole condition with 1, and `(rowid IN (...)) = 1` uses no index.
    type = NULLTYPE
    _traverse_internals = [
        ("postgresql", InternalTraversal.dp_clauseelement),
        ("sqlite", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, postgresql: ColumnElement[Any], sqlite: ColumnElement[Any]) -> None:
        self.postgresql = postgresql
        self.sqlite = sqlite


@compiles(PerDialect)
def _compile_sqlite(element: PerDialect, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.sqlite, **kw)


@compiles(PerDialect, "postgresql")
def _compile_postgresql(element: PerDialect, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.postgresql, **kw)


def like_pattern(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _bind(name: str | None, suffix: str, value: str) -> Any:
    """The search term goes into the SQL text as a literal (`literal_execute`), not as a parameter: PostgreSQL
    plans a prepared statement generically after a few runs, and a generic plan cannot tell a rare term
    (collect the few matches from the trigram indexes: milliseconds) from a common one (walk the sort's index:
    milliseconds too); the wrong one costs a second at 100,000 rows (bench/api/RESULTS.md). Named where the SQL
    is cached per shape (shared/pg.py); anonymous and unique otherwise, so several searches share a statement."""
    if name:
        return bindparam(f"{name}{suffix}", value, literal_execute=True)
    return bindparam(f"q{suffix}", value, unique=True, literal_execute=True)


def like_any(q: str, *columns: Any, name: str | None = None) -> ColumnElement[bool]:
    """`lower(column) LIKE '%q%'` on any of `columns` (the portable form; PostgreSQL's trigram indexes serve it)."""
    pattern = _bind(name, "", like_pattern(q))
    return or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))


@dataclass(frozen=True)
class TextIndex:
    """The searchable columns of one table; on SQLite the FTS5 table `<table>_search` holds them."""

    model: Any
    columns: tuple[str, ...]

    @property
    def fts(self) -> str:
        return f"{self.model.__tablename__}_search"

    def match(
        self, q: str, *, columns: tuple[str, ...] | None = None, name: str | None = None
    ) -> ColumnElement[bool]:
        """Rows of the table in which `q` occurs in any of `columns` (default: all of them)."""
        columns = columns or self.columns
        portable = like_any(q, *(getattr(self.model, c) for c in columns), name=name)
        if len(q) < TRIGRAM:
            return portable
        phrase = '"' + q.replace('"', '""') + '"'
        query = f"{{{' '.join(columns)}}} : {phrase}" if columns != self.columns else phrase
        fts = table(self.fts, column("rowid"))
        hits = select(fts.c.rowid).where(literal_column(self.fts).op("MATCH")(_bind(name, "_fts", query)))
        rowid: ColumnElement[Any] = literal_column(f"{self.model.__tablename__}.rowid")
        return PerDialect(postgresql=portable, sqlite=rowid.in_(hits))


class AnyOf(ColumnElement[Any]):
    """`column IN (subquery)`, on PostgreSQL as `column = ANY (ARRAY(subquery))`: the subquery then runs once
    and the condition can use the column's index, also as one arm of an OR (an IN-subquery arm would turn the
    whole OR into a per-row filter)."""

    inherit_cache = True
    type = NULLTYPE  # as PerDialect's
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("subquery", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, subquery: Any) -> None:
        self.column = column
        self.subquery = subquery


@compiles(AnyOf)
def _compile_any_of(element: AnyOf, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.subquery), **kw)


@compiles(AnyOf, "postgresql")
def _compile_any_of_postgresql(element: AnyOf, compiler: Any, **kw: Any) -> str:
    # ARRAY((SELECT ...)): PostgreSQL's grammar takes a parenthesised subquery in any number of parentheses.
    inner = compiler.process(element.subquery.scalar_subquery(), **kw)
    return f"{compiler.process(element.column, **kw)} = ANY (ARRAY{inner})"
