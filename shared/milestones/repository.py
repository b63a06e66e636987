from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import raiseload

from shared.crud import Repository
from shared.milestones.models import Measurement, Milestone
from shared.pagination import SortField, Sorting
from shared.people.models import as_objects


class MilestoneRepository(Repository[Milestone]):
    model = Milestone
    resource = "milestone"
    sorting = Sorting(
        fields={
            "due_date": SortField(Milestone.due_date, "date"),
            "created_at": SortField(Milestone.created_at, "datetime"),
            "title": SortField(Milestone.title),
        },
        id_column=Milestone.id,
        default="due_date",
    )

    async def list_with_measurements(
        self, conditions: Iterable[Any], *, sort: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Milestone], dict[uuid.UUID, list[dict[str, Any]]], str | None]:
        """The list's read: one page of milestones and their measurements as plain rows, by milestone.

        A page may carry hundreds of measurements (bench/board: 200 on one commitment page); as ORM objects
        they cost about as much CPU as the rest of the read. The milestones of this page do not load them
        (`raiseload`: touching `.measurements` on them in the same session fails loudly instead of reading
        an empty list); MilestoneOut takes the rows instead (as dicts in the API's shape), in the relationship's order (by date, one a day).
        """
        stmt = self.base_query().options(raiseload(Milestone.measurements)).where(*conditions)
        stmt, sort_key, field = self.sorting.apply(stmt, sort, cursor, limit)
        rows, next_cursor = self.sorting.page(
            list((await self.session.execute(stmt)).scalars().all()), sort_key, field, limit
        )
        measurements: dict[uuid.UUID, list[Any]] = {row.id: [] for row in rows}
        if rows:
            table = Measurement.__table__
            found = await self.session.execute(
                select(table).where(table.c.milestone_id.in_(list(measurements))).order_by(table.c.date)
            )
            for measurement in found:
                measurements[measurement.milestone_id].append(as_objects(dict(measurement._mapping)))
        return rows, measurements, next_cursor


class MeasurementRepository(Repository[Measurement]):
    model = Measurement
    resource = "measurement"
    sorting = Sorting(
        fields={"date": SortField(Measurement.date, "date")}, id_column=Measurement.id, default="date"
    )
