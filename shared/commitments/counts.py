"""Commitments counted per status and schedule, under the list endpoint's own filter conditions.

The status board's overview shows these counts over all matching commitments (10,000 of them in bench/board):
paging through the whole list to count it would move every row to count a handful of numbers. The conditions
are `CommitmentService.conditions` of the same `CommitmentFilters`, so a count never disagrees with the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.models import Commitment


class CommitmentCountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_status_and_schedule(self, conditions: Iterable[Any]) -> dict[tuple[str, str], int]:
        stmt = (
            select(Commitment.status, Commitment.schedule, func.count())
            .where(*conditions)
            .group_by(Commitment.status, Commitment.schedule)
        )
        return {
            (status, schedule): int(n) for status, schedule, n in (await self.session.execute(stmt)).all()
        }
