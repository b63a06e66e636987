from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from shared.commitments.models import Commitment, commitment_recommendations, commitment_themes
from shared.crud import Repository
from shared.pagination import SortField, Sorting, encode_cursor


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
        """The list endpoint's read path: Core rows plus two batched lookups, no ORM identity map.

        Lists are the hottest read; building ORM objects and re-validating them costs more than the
        queries themselves (bench/api).
        """
        table = Commitment.__table__
        stmt = select(table).where(*conditions)
        stmt, sort_key, field = self.sorting.apply(stmt, sort, cursor, limit)
        rows = [dict(row) for row in (await self.session.execute(stmt)).mappings()]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor(sort_key, last[field.column.key], last["id"])
        if rows:
            ids = [row["id"] for row in rows]
            themes: dict[Any, list[str]] = {}
            for cid, key in await self.session.execute(
                select(commitment_themes.c.commitment_id, commitment_themes.c.theme_key)
                .where(commitment_themes.c.commitment_id.in_(ids)).order_by(commitment_themes.c.theme_key)
            ):
                themes.setdefault(cid, []).append(key)
            recs: dict[Any, list[Any]] = {}
            for cid, rid in await self.session.execute(
                select(commitment_recommendations.c.commitment_id, commitment_recommendations.c.recommendation_id)
                .where(commitment_recommendations.c.commitment_id.in_(ids))
            ):
                recs.setdefault(cid, []).append(rid)
            for row in rows:
                row["reasons"] = row.get("reasons") or []  # not evaluated yet: no reasons
                row["themes"] = themes.get(row["id"], [])
                row["recommendation_ids"] = recs.get(row["id"], [])
        return rows, next_cursor
