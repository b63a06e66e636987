"""Commitments counted per status and schedule under the list's own filters (GET /v1/commitments/counts).

The status board's overview shows these counts over all matching commitments (10,000 of them in bench/board):
paging through the whole list to count it would move every row to count a handful of numbers. The conditions
are `CommitmentService.conditions` of the same filter fields, so a count never disagrees with the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.models import Commitment
from shared.commitments.schemas import CommitmentSelection
from shared.commitments.service import CommitmentService
from shared.status.vocabulary import Schedule, Status


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


async def commitment_counts(session: AsyncSession, selection: CommitmentSelection) -> dict[str, Any]:
    """The body of GET /v1/commitments/counts (CommitmentCountsOut): totals per status, per schedule, and the
    non-empty cells of both."""
    conditions = CommitmentService.conditions(selection)
    cells = await CommitmentCountRepository(session).by_status_and_schedule(conditions)
    by_status = {str(s): 0 for s in Status}
    by_schedule = {str(s): 0 for s in Schedule}
    for (status, schedule), n in cells.items():
        by_status[status] += n
        by_schedule[schedule] += n
    return {
        "total": sum(cells.values()),
        "by_status": by_status,
        "by_schedule": by_schedule,
        "cells": [{"status": st, "schedule": sc, "count": n} for (st, sc), n in sorted(cells.items())],
    }
