"""The sync run: page after page, each applied in its own transaction together with its checkpoint.

A crash at any point therefore loses nothing and applies nothing twice: either a page and its
checkpoint are both committed, or neither is, and the next run asks for the page after the checkpoint.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.jobs import JobQueue, drop_pending_jobs, flush_jobs
from shared.settings import Settings
from shared.tk.categories import CATEGORIES, canonical_category
from shared.tk.client import FeedUnavailable
from shared.tk.ingest import DocumentRelevance, apply_page
from shared.tk.models import SyncRunStatus, TkSyncRun
from shared.tk.parse import MalformedPage, parse_page
from shared.tk.repository import COUNTERS, SyncRunRepository, SyncStateRepository

log = structlog.get_logger("nakoming.tk.sync")


class PageSource(Protocol):
    async def fetch_page(self, category: str, skiptoken: int | None) -> bytes: ...


class CheckpointMoved(Exception):
    """Another run of the same category advanced the checkpoint first."""


@dataclass
class RunSummary:
    category: str
    run_id: uuid.UUID | None = None
    status: str = "running"
    start_token: int | None = None
    end_token: int | None = None
    pages: int = 0
    entries: int = 0
    upserts: int = 0
    deletes: int = 0
    skipped_older: int = 0
    skipped_irrelevant: int = 0
    unknown_status: int = 0
    errors: int = 0
    error: str | None = None
    commitments_queued: int = 0

    def add(self, counts: dict[str, int]) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + counts.get(name, 0))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["run_id"] = str(self.run_id) if self.run_id else None
        return data


Progress = Callable[[RunSummary], None]


@dataclass
class SyncRunner:
    session_factory: async_sessionmaker[AsyncSession]
    source: PageSource
    settings: Settings
    queue: JobQueue | None = None
    trigger: str = "manual"
    progress: Progress | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def run(self, categories: Sequence[str] | None = None) -> list[RunSummary]:
        """Sync the categories in dependency order; one category's failure does not stop the others."""
        wanted = {canonical_category(c) for c in categories} if categories else set(CATEGORIES)
        return [await self.run_category(c) for c in CATEGORIES if c in wanted]

    async def run_category(self, category: str) -> RunSummary:
        category = canonical_category(category)
        summary = RunSummary(category)
        if category in _IN_PROCESS:
            summary.status, summary.error = "skipped", "a sync of this category is already running here"
            return summary
        _IN_PROCESS.add(category)
        try:
            await self._run(category, summary)
        finally:
            _IN_PROCESS.discard(category)
        return summary

    async def _run(self, category: str, summary: RunSummary) -> None:
        async with session_scope(self.session_factory) as session:
            state = await SyncStateRepository(session).ensure(category)
            await SyncRunRepository(session).abandon_stale(category)
            token = state.skiptoken if state.skiptoken is not None else self.settings.tk_start_tokens.get(category)
            run = TkSyncRun(category=category, trigger=self.trigger, start_token=token, end_token=token)
            session.add(run)
            await session.flush()
            summary.run_id, summary.start_token, summary.end_token = run.id, token, token
        checkpoint = state.skiptoken  # what the stored row holds (None before the first page)
        log.info("tk_sync_started", category=category, skiptoken=token, run_id=str(summary.run_id))
        relevance = None
        error: str | None = None
        try:
            if category == "Document":
                async with self.session_factory() as session:
                    relevance = await DocumentRelevance.load(
                        session, dossiers=self.settings.tk_dossiers, terms=self.settings.tk_terms,
                        soorten=self.settings.tk_document_soorten)
                    await session.rollback()
            first = True
            while True:
                if not first and self.settings.tk_request_interval:
                    await self.sleep(self.settings.tk_request_interval)  # polite pacing
                first = False
                body = await self.source.fetch_page(category, token)
                entries = parse_page(body)
                if token is not None:
                    entries = [e for e in entries if e.token > token]  # a server that ignored skiptoken
                if not entries:
                    break
                last = max(e.token for e in entries)
                await self._apply(category, summary, entries, relevance, checkpoint, last)
                checkpoint = token = last
                if self.progress is not None:
                    self.progress(summary)
        except (FeedUnavailable, MalformedPage, CheckpointMoved) as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a database or programming error: fail this category, keep the others going
            log.exception("tk_sync_crashed", category=category)
            error = f"{type(exc).__name__}: {exc}"
        summary.status = SyncRunStatus.failed.value if error else SyncRunStatus.succeeded.value
        summary.error = error
        summary.errors += 1 if error else 0
        async with session_scope(self.session_factory) as session:
            await SyncRunRepository(session).finish(summary.run_id, SyncRunStatus(summary.status), error)  # type: ignore[arg-type]
            await SyncStateRepository(session).record_outcome(category, error=error)
        if error:
            log.error("tk_sync_failed", category=category, error=error, resume_from=checkpoint,
                      run_id=str(summary.run_id))
        else:
            log.info("tk_sync_finished", **{k: v for k, v in summary.as_dict().items() if k != "error"})

    async def _apply(self, category: str, summary: RunSummary, entries: list[Any],
                     relevance: DocumentRelevance | None, expected: int | None, last: int) -> None:
        async with self.session_factory() as session:
            try:
                outcome = await apply_page(session, category, entries, relevance)
                outcome.bump("pages")
                if not await SyncStateRepository(session).advance(category, expected, last, outcome.counts):
                    raise CheckpointMoved(f"{category}: checkpoint is no longer {expected}; another run is syncing it")
                await SyncRunRepository(session).add_counts(summary.run_id, outcome.counts, last)  # type: ignore[arg-type]
                await session.commit()
            except BaseException:
                drop_pending_jobs(session)
                await session.rollback()
                raise
            await flush_jobs(session, self.queue)
        summary.add(outcome.counts)
        summary.end_token = last
        summary.commitments_queued += len(outcome.commitments)


# Categories running in this process; other processes are held off by the checkpoint compare-and-set.
_IN_PROCESS: set[str] = set()
