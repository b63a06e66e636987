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

from shared.commitments.events import commitment_changed
from shared.db import session_scope
from shared.jobs import JobQueue, unit_of_work
from shared.settings import Settings
from shared.tk.categories import CATEGORIES, ENTITY_TAGS, canonical_category
from shared.tk.client import FeedUnavailable
from shared.tk.ingest import DocumentRelevance, apply_page
from shared.tk.models import SyncRunStatus, TkSyncRun
from shared.tk.parse import MalformedPage, ParsedEntry, UnreadableEntity, parse_entity, parse_page, position
from shared.tk.repository import COUNTERS, MirrorRepository, SyncRunRepository, SyncStateRepository

log = structlog.get_logger("nakoming.tk.sync")


class PageSource(Protocol):
    async def fetch_page(self, category: str, skiptoken: int | None) -> bytes: ...


class EntitySource(Protocol):
    async def fetch_entity(self, guid: str) -> bytes | None: ...


# Wanted documents fetched by id per category run; the rest wait for the next run (fewest attempts first).
FETCHES_PER_RUN = 200


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
    unchanged: int = 0
    quarantined: int = 0
    fetched: int = 0
    samples_removed: int = 0
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
            token = (
                state.skiptoken
                if state.skiptoken is not None
                else self.settings.tk_start_tokens.get(category)
            )
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
                        session,
                        dossiers=self.settings.tk_dossiers,
                        terms=self.settings.tk_terms,
                        soorten=self.settings.tk_document_soorten,
                    )
                    await session.rollback()
            # The next page is fetched and parsed (in a thread) while this one is written, so the feed's
            # latency and the parsing overlap the database's work.
            next_page = asyncio.ensure_future(self._fetch(category, token, pause=False))
            try:
                while True:
                    entries = await next_page
                    if token is not None:
                        entries = [
                            e for e in entries if position(e) > token
                        ]  # a server that ignored skiptoken
                    if not entries:
                        break
                    last = max(position(e) for e in entries)
                    next_page = asyncio.ensure_future(self._fetch(category, last, pause=True))
                    await self._apply(category, summary, entries, relevance, checkpoint, last)
                    checkpoint = token = last
                    if self.progress is not None:
                        self.progress(summary)
            finally:
                if not next_page.done():
                    next_page.cancel()
                await asyncio.gather(next_page, return_exceptions=True)  # never leave its error unretrieved
        except (FeedUnavailable, MalformedPage, CheckpointMoved) as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a database or programming error: fail this category, keep the others going
            log.exception("tk_sync_crashed", category=category)
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            try:
                await self._fetch_wanted(category, summary)
            except Exception:  # the wanted documents stay queued for the next run; this run's pages are in
                log.exception("tk_wanted_fetch_crashed", category=category)
        summary.status = SyncRunStatus.failed.value if error else SyncRunStatus.succeeded.value
        summary.error = error
        summary.errors += 1 if error else 0
        async with unit_of_work(self.session_factory, self.queue) as session:
            stored = await SyncStateRepository(session).get(category)
            if error is None and stored is not None and stored.has_samples:
                await self._remove_samples(session, category, summary)
            await SyncRunRepository(session).finish(summary.run_id, SyncRunStatus(summary.status), error)
            await SyncStateRepository(session).record_outcome(category, error=error)
        if error:
            log.error(
                "tk_sync_failed",
                category=category,
                error=error,
                resume_from=checkpoint,
                run_id=str(summary.run_id),
            )
        else:
            log.info("tk_sync_finished", **{k: v for k, v in summary.as_dict().items() if k != "error"})

    async def _remove_samples(self, session: AsyncSession, category: str, summary: RunSummary) -> None:
        """The first successful live sync of a category removes the bundled sample's entities of it, and the
        commitments whose status cited them are recalculated (after commit)."""
        removed, touched = await MirrorRepository(session).remove_samples(ENTITY_TAGS[category])
        await SyncStateRepository(session).clear_samples(category)
        for commitment_id in await MirrorRepository(session).commitments_following(touched):
            commitment_changed(session, commitment_id)
            summary.commitments_queued += 1
        summary.samples_removed = removed
        log.info("tk_samples_removed", category=category, removed=removed, toezeggingen=len(touched))

    async def _fetch_wanted(self, category: str, summary: RunSummary) -> None:
        """Fetch by id the skipped documents that became relevant (this run or an earlier one left them)."""
        fetch = getattr(self.source, "fetch_entity", None)
        if fetch is None:
            return
        async with self.session_factory() as session:
            wanted = [
                w.document_id for w in await MirrorRepository(session).wanted_documents(FETCHES_PER_RUN)
            ]
            await session.rollback()
        for document_id in wanted:
            try:
                body = await fetch(str(document_id))
                entry = parse_entity(body) if body is not None else None
            except FeedUnavailable as exc:  # the feed is unwell: the rest waits for the next run
                await self._wanted_failed(document_id, f"{type(exc).__name__}: {exc}")
                return
            except (MalformedPage, UnreadableEntity) as exc:
                await self._wanted_failed(document_id, f"{type(exc).__name__}: {exc}")
                continue
            async with unit_of_work(self.session_factory, self.queue) as session:
                repo = MirrorRepository(session)
                outcome = None
                if entry is None or entry.kind != "document" or entry.id != document_id:
                    log.warning("tk_wanted_document_gone", document_id=str(document_id))
                    await repo.forget_index(document_id)
                else:
                    outcome = await apply_page(session, "Document", [entry], None)
                await repo.wanted_done(document_id)
                counts = {"fetched": 1}
                await SyncStateRepository(session).add_counts(category, counts)
                await SyncRunRepository(session).add_counts(summary.run_id, counts, summary.end_token)  # type: ignore[arg-type]
            summary.fetched += 1
            if outcome is not None:
                summary.commitments_queued += len(outcome.commitments)

    async def _wanted_failed(self, document_id: uuid.UUID, error: str) -> None:
        log.warning("tk_wanted_document_failed", document_id=str(document_id), error=error)
        async with session_scope(self.session_factory) as session:
            await MirrorRepository(session).wanted_failed(document_id, error)

    async def _fetch(self, category: str, token: int | None, *, pause: bool) -> list[ParsedEntry]:
        if pause and self.settings.tk_request_interval:
            await self.sleep(self.settings.tk_request_interval)  # polite pacing between requests
        body = await self.source.fetch_page(category, token)
        return await asyncio.to_thread(parse_page, body)

    async def _apply(
        self,
        category: str,
        summary: RunSummary,
        entries: list[Any],
        relevance: DocumentRelevance | None,
        expected: int | None,
        last: int,
    ) -> None:
        async with unit_of_work(self.session_factory, self.queue) as session:
            outcome = await apply_page(
                session, category, entries, relevance, watched_dossiers=self.settings.tk_dossiers
            )
            outcome.bump("pages")
            if not await SyncStateRepository(session).advance(category, expected, last, outcome.counts):
                raise CheckpointMoved(
                    f"{category}: checkpoint is no longer {expected}; another run is syncing it"
                )
            await SyncRunRepository(session).add_counts(summary.run_id, outcome.counts, last)  # type: ignore[arg-type]
        summary.add(outcome.counts)
        summary.end_token = last
        summary.commitments_queued += len(outcome.commitments)


# Categories running in this process; other processes are held off by the checkpoint compare-and-set.
_IN_PROCESS: set[str] = set()
