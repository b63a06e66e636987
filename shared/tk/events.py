"""Sync requests, enqueued after the requesting transaction commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.jobs import defer_job, job_id
from shared.tk.categories import CATEGORIES

SYNC_CATEGORY_JOB = "tk.sync_category"
SYNC_ALL_JOB = "tk.sync_all"


def category_job_id(category: str) -> str:
    """One job id per category: arq never runs two syncs of one category at once."""
    return job_id(SYNC_CATEGORY_JOB, category)


def request_sync(
    session: AsyncSession, categories: Sequence[str] | None, *, trigger: str = "api"
) -> list[tuple[str, str]]:
    """Queue the categories as a chain in dependency order: each job enqueues the next when it ends
    (whatever its outcome), so documents are judged after the dossiers, zaken and toezeggingen."""
    wanted = [c for c in CATEGORIES if not categories or c in categories]
    if wanted:
        first, *rest = wanted
        defer_job(
            session,
            SYNC_CATEGORY_JOB,
            job_id=category_job_id(first),
            category=first,
            then=rest,
            trigger=trigger,
        )
    return [(c, category_job_id(c)) for c in wanted]
