"""`nakoming sync`: the sync job run in this process, with a progress bar and a summary table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.worker.context import build_context, close_context
from services.worker.queue import ArqQueue, InProcessQueue
from services.worker.registry import load_all
from shared.settings import Settings
from shared.tk.categories import CATEGORIES, canonical_category
from shared.tk.client import FeedClient
from shared.tk.service import RunSummary, SyncRunner


async def run_sync(settings: Settings, categories: Sequence[str] | None, *, console: Console | None = None,
                   show_progress: bool = True) -> list[RunSummary]:
    console = console or Console(stderr=True)
    wanted = [canonical_category(c) for c in categories] if categories else list(CATEGORIES)
    ctx = await build_context(settings)
    queue: Any
    if settings.job_backend == "arq":
        queue = await ArqQueue.connect(settings.redis_url)
    else:
        queue = InProcessQueue(ctx, load_all())
        ctx["queue"] = queue
    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
                      TimeElapsedColumn(), console=console, disable=not show_progress, transient=False) as bar:
            tasks = {c: bar.add_task(c, total=None, detail="waiting") for c in wanted}

            def progress(summary: RunSummary) -> None:
                bar.update(tasks[summary.category], detail=f"page {summary.pages}, {summary.entries} entries, "
                                                           f"token {summary.end_token}")

            runner = SyncRunner(ctx["session_factory"], FeedClient.from_settings(ctx["http"], settings), settings,
                                queue=queue, trigger="cli", progress=progress)
            summaries = []
            for category in wanted:
                bar.update(tasks[category], detail="fetching")
                summary = await runner.run_category(category)
                bar.update(tasks[category], total=1, completed=1,
                           detail=f"{summary.status}: {summary.pages} pages, {summary.entries} entries")
                summaries.append(summary)
        if isinstance(queue, InProcessQueue):
            await queue.drain()
    finally:
        await queue.close()
        await close_context(ctx)
    return summaries


def summary_table(summaries: Sequence[RunSummary]) -> Table:
    table = Table(title="TK sync")
    for column in ("category", "status", "pages", "entries", "upserts", "deletes", "unchanged", "skipped older",
                   "skipped irrelevant", "unknown status", "quarantined", "fetched", "errors", "skiptoken"):
        table.add_column(column, justify="left" if column in ("category", "status") else "right")
    for s in summaries:
        table.add_row(s.category, s.status, str(s.pages), str(s.entries), str(s.upserts), str(s.deletes),
                      str(s.unchanged), str(s.skipped_older), str(s.skipped_irrelevant), str(s.unknown_status),
                      str(s.quarantined), str(s.fetched), str(s.errors),
                      str(s.end_token if s.end_token is not None else "-"))
    return table
