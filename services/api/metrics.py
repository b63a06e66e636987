"""The API's metrics: request timing (called from RequestIdMiddleware, which times every request already) and
the figures read from the database when scraped.

Exported on GET /metrics to admin keys (services/api/routers/metrics.py) and, when NAKOMING_METRICS_PORT is set,
without a key on that port (keep it off the public network: Prometheus inside the cluster scrapes it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from shared.commitments.counts import CommitmentCountRepository
from shared.metrics import HTTP_REQUESTS, ScrapeTimeCollector
from shared.status.vocabulary import Status
from shared.tk.categories import CATEGORIES
from shared.tk.repository import MirrorRepository, SyncStateRepository

UNMATCHED = "unmatched"  # no route: every unknown path shares one label (a scanner cannot add series)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}
_children: dict[tuple[str, str, str], Any] = {}


def observe_request(scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
    """One request into the latency histogram, labelled by route template (`/v1/commitments/{id}`, never the
    raw path) and status class. The labelled child is looked up once per combination (a dict hit after that)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or UNMATCHED
    method = scope["method"] if scope["method"] in _METHODS else "other"
    key = (method, template, _STATUS_CLASSES.get(status // 100, "other"))
    child = _children.get(key)
    if child is None:
        child = _children[key] = HTTP_REQUESTS.labels(*key)
    child.observe(seconds)


def database_figures(session_factory: Any, max_age: float) -> ScrapeTimeCollector:
    """Commitments per status and TK sync lag per category, read in one short session when scraped."""

    async def compute() -> Sequence[Any]:
        async with session_factory() as session:
            cells = await CommitmentCountRepository(session).by_status_and_schedule(())
            states = {s.category: s for s in await SyncStateRepository(session).all()}
            newest = await MirrorRepository(session).newest_versions()
        now = dt.datetime.now(dt.UTC)
        per_status = {str(s): 0 for s in Status}
        for (status, _schedule), n in cells.items():
            per_status[status] = per_status.get(status, 0) + n
        commitments = GaugeMetricFamily("nakoming_commitments", "Commitments per status.", labels=["status"])
        for status, n in per_status.items():
            commitments.add_metric([status], n)
        page = GaugeMetricFamily(
            "nakoming_tk_sync_last_page_age_seconds",
            "Seconds since the category's last page was committed by a sync (absent: none yet).",
            labels=["category"],
        )
        success = GaugeMetricFamily(
            "nakoming_tk_sync_last_success_age_seconds",
            "Seconds since the category's last sync run that reached the end of the feed (absent: never).",
            labels=["category"],
        )
        version = GaugeMetricFamily(
            "nakoming_tk_sync_newest_bijgewerkt_age_seconds",
            "Seconds between now and the newest `bijgewerkt` mirrored in the category (absent: empty).",
            labels=["category"],
        )
        for category in CATEGORIES:
            state = states.get(category)
            if state is not None and state.last_success_at is not None:
                success.add_metric([category], (now - state.last_success_at).total_seconds())
            if state is not None and state.last_page_at is not None:
                page.add_metric([category], (now - state.last_page_at).total_seconds())
            seen = newest.get(category.lower())
            if seen is not None:
                version.add_metric([category], (now - seen).total_seconds())
        return [commitments, page, success, version]

    return ScrapeTimeCollector(compute, max_age)
