"""`nakoming sync`: the sync job run in this process, with a progress bar and a summary table."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


class FeedUnreachable(Exception):
    """The feed's host cannot be reached at all: nothing was synced."""


class _AboveTheBar(logging.Handler):
    """Log lines printed through the progress bar's console, so they appear above the bar instead of through it."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
        except Exception:  # noqa: BLE001  (logging.Handler's contract: report through handleError)
            self.handleError(record)


@contextmanager
def _logs_above_the_bar(console: Console) -> Iterator[None]:
    root = logging.getLogger()
    previous = root.handlers[:]
    handler = _AboveTheBar(console)
    if previous:
        handler.setFormatter(previous[0].formatter)
    root.handlers[:] = [handler]
    try:
        yield
    finally:
        root.handlers[:] = previous


async def run_sync(
    settings: Settings,
    categories: Sequence[str] | None,
    *,
    console: Console | None = None,
    show_progress: bool = True,
) -> list[RunSummary]:
    console = console or Console(stderr=True)
    wanted = [canonical_category(c) for c in categories] if categories else list(CATEGORIES)
    ctx = await build_context(settings)
    reason = await FeedClient.from_settings(ctx["http"], settings).unreachable()
    if reason is not None:
        await close_context(ctx)
        raise FeedUnreachable(
            f"The Tweede Kamer feed ({settings.tk_syncfeed_url}) cannot be reached ({reason}): "
            f"nothing was synced. Check the network, or NAKOMING_TK_SYNCFEED_URL."
        )
    queue: Any
    if settings.job_backend == "arq":
        queue = await ArqQueue.connect(settings.redis_url)
    else:
        queue = InProcessQueue(ctx, load_all())
        ctx["queue"] = queue
    try:
        with (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=console,
                disable=not show_progress,
                transient=False,
            ) as bar,
            _logs_above_the_bar(bar.console),
        ):
            tasks = {c: bar.add_task(c, total=None, detail="waiting") for c in wanted}

            def progress(summary: RunSummary) -> None:
                bar.update(
                    tasks[summary.category],
                    detail=f"page {summary.pages}, {summary.entries} entries, token {summary.end_token}",
                )

            runner = SyncRunner(
                ctx["session_factory"],
                FeedClient.from_settings(ctx["http"], settings),
                settings,
                queue=queue,
                trigger="cli",
                progress=progress,
            )
            summaries = []
            for category in wanted:
                bar.update(tasks[category], detail="fetching")
                summary = await runner.run_category(category)
                bar.update(
                    tasks[category],
                    total=1,
                    completed=1,
                    detail=f"{summary.status}: {summary.pages} pages, {summary.entries} entries",
                )
                summaries.append(summary)
        if isinstance(queue, InProcessQueue):
            await queue.drain()
    finally:
        await queue.close()
        await close_context(ctx)
    return summaries


def summary_table(summaries: Sequence[RunSummary]) -> Table:
    table = Table(title="TK sync")
    for column in (
        "category",
        "status",
        "pages",
        "entries",
        "upserts",
        "deletes",
        "unchanged",
        "skipped older",
        "skipped irrelevant",
        "unknown status",
        "quarantined",
        "fetched",
        "errors",
        "skiptoken",
    ):
        table.add_column(column, justify="left" if column in ("category", "status") else "right")
    for s in summaries:
        table.add_row(
            s.category,
            s.status,
            str(s.pages),
            str(s.entries),
            str(s.upserts),
            str(s.deletes),
            str(s.unchanged),
            str(s.skipped_older),
            str(s.skipped_irrelevant),
            str(s.unknown_status),
            str(s.quarantined),
            str(s.fetched),
            str(s.errors),
            str(s.end_token if s.end_token is not None else "-"),
        )
    return table
