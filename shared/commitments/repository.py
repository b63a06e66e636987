from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, func, select

from shared.commitments.models import Commitment, commitment_recommendations, commitment_themes
from shared.crud import Repository
from shared.pagination import SortField, Sorting


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

    async def list_page(
        self, conditions: Iterable[Any], *, sort: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The list endpoint's read path: one Core statement, no ORM identity map.

        Lists are the hottest read (bench/api): themes and recommendation ids come along as aggregated
        strings from correlated subqueries, so a page is a single round trip on both backends.
        """
        table = Commitment.__table__
        themes = (select(func.aggregate_strings(commitment_themes.c.theme_key, ","))
                  .where(commitment_themes.c.commitment_id == table.c.id).scalar_subquery())
        recs = (select(func.aggregate_strings(cast(commitment_recommendations.c.recommendation_id, String), ","))
                .where(commitment_recommendations.c.commitment_id == table.c.id).scalar_subquery())
        stmt = select(table, themes.label("_themes"), recs.label("_recs")).where(*conditions)
        stmt, sort_key, field = self.sorting.apply(stmt, sort, cursor, limit)
        connection = await self.session.connection()
        rows = [dict(row) for row in (await connection.execute(stmt)).mappings()]
        rows, next_cursor = self.sorting.page(rows, sort_key, field, limit, dict.get)
        for row in rows:
            row["reasons"] = row.get("reasons") or []  # not evaluated yet: no reasons
            themes_raw, recs_raw = row.pop("_themes"), row.pop("_recs")
            row["themes"] = sorted(themes_raw.split(",")) if themes_raw else []
            row["recommendation_ids"] = sorted(str(uuid.UUID(r)) for r in recs_raw.split(",")) if recs_raw else []
        return rows, next_cursor
