from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Integer, String, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.models import (
    Commitment,
    commitment_recommendations,
    commitment_subject_parties,
    commitment_themes,
)
from shared.commitments.schemas import recurrence_of
from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.people.models import PERSON_KEY, as_objects
from shared.pg import RawDatabase, ShapeCache, bound_values, inlined_values
from shared.status.messages import DEFAULT_LANGUAGE, localise, reader_language


class CommitmentRepository(Repository[Commitment]):
    model = Commitment
    resource = "commitment"
    sorting = Sorting(
        fields={
            "created_at": SortField(Commitment.created_at, "datetime"),
            "updated_at": SortField(Commitment.updated_at, "datetime"),
            "due_date": SortField(Commitment.due_date, "date", nullable=True),
            "title": SortField(Commitment.title),
        },
        id_column=Commitment.id,
        default="created_at",
    )

    @staticmethod
    def _list_statement() -> Any:
        comma: Any = literal_column("','")  # a literal, not a bind: aggregate_strings types it as a plain str
        table = Commitment.__table__
        themes = (
            select(func.aggregate_strings(commitment_themes.c.theme_key, comma))
            .where(commitment_themes.c.commitment_id == table.c.id)
            .scalar_subquery()
        )
        recs = (
            select(
                func.aggregate_strings(cast(commitment_recommendations.c.recommendation_id, String), comma)
            )
            .where(commitment_recommendations.c.commitment_id == table.c.id)
            .scalar_subquery()
        )
        subjects = (
            select(func.aggregate_strings(cast(commitment_subject_parties.c.party_id, String), comma))
            .where(commitment_subject_parties.c.commitment_id == table.c.id)
            .scalar_subquery()
        )
        shown = [column for column in table.c if column.key not in _INTERNAL]
        return select(*shown, themes.label("_themes"), recs.label("_recs"), subjects.label("_subjects"))

    @classmethod
    async def list_page(
        cls,
        source: AsyncSession | RawDatabase,
        conditions: Iterable[Any],
        *,
        sort: str | None,
        cursor: str | None,
        limit: int,
        decoded: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The list endpoint's read path: one statement, no ORM identity map.

        Lists are the hottest read (bench/api): themes and recommendation ids come along as aggregated
        strings from correlated subqueries, so a page is a single round trip on both backends. From a
        RawDatabase (PostgreSQL) the statement is compiled once per shape and runs straight on asyncpg.
        (Rendering the items' JSON in PostgreSQL instead was measured: no faster in total, since the
        database shares the CPU, and a second rendering to keep equal to this one.)
        `decoded`: reasons always as lists (exports read them), never as the JSON text passed through.
        """
        conditions = list(conditions)
        if isinstance(source, AsyncSession):
            stmt, sort_key, field = cls.sorting.apply(
                cls._list_statement().where(*conditions), sort, cursor, limit
            )
            connection = await source.connection()
            rows = [dict(row) for row in (await connection.execute(stmt)).mappings()]
        else:
            sort_key, field, _, after = cls.sorting.keyset(sort, cursor)
            values = bound_values(*conditions, after)
            # The LIMIT is part of the SQL text, not a parameter: with `LIMIT $1` PostgreSQL re-plans the
            # unfiltered list on every execution (its generic plan looks worse), about 0.7 ms of its CPU.
            key = (sort_key, limit, *sorted(values), *inlined_values(*conditions))
            shape = _SHAPES.get(
                key,
                lambda: cls.sorting.apply(cls._list_statement().where(*conditions), sort, cursor, limit)[
                    0
                ].limit(literal_column(str(int(limit) + 1), Integer)),
            )
            records = await source.fetch(shape.sql, shape.args(values))
            keys = tuple(records[0].keys()) if records else ()
            rows = [dict(zip(keys, record)) for record in records]  # about 30% faster than dict(record)
        rows, next_cursor = cls.sorting.page(rows, sort_key, field, limit, dict.get)
        localised = reader_language.get() != DEFAULT_LANGUAGE
        for row in rows:
            reasons = row["reasons"]
            if localised or decoded:
                row["reasons"] = localise(orjson.loads(reasons) if isinstance(reasons, str) else reasons)
            else:
                # PostgreSQL's JSON text (raw asyncpg) goes out as it is, without a decode/encode round.
                row["reasons"] = orjson.Fragment(reasons) if isinstance(reasons, str) else reasons or []
            themes_raw, recs_raw = row.pop("_themes"), row.pop("_recs")
            row["themes"] = sorted(themes_raw.split(",")) if themes_raw else []
            row["recommendation_ids"] = (
                sorted(str(uuid.UUID(r)) for r in recs_raw.split(",")) if recs_raw else []
            )
            subjects_raw = row.pop("_subjects")
            row["subject_party_ids"] = (
                sorted(str(uuid.UUID(p)) for p in subjects_raw.split(",")) if subjects_raw else []
            )
            row["recurrence"] = recurrence_of(row.pop("recurrence_unit"), row.pop("recurrence_start"))
            as_objects(row)
        return rows, next_cursor


_SHAPES = ShapeCache()
# Columns the API never shows, left out of the list's SELECT (each column read costs its decoding on every row):
# the status engine's digest and the key `?owner_person=` compares.
_INTERNAL = frozenset({"reasons_digest", PERSON_KEY})
