"""The worker's metrics: job runs, failures and durations (counted by the job registry), and the arq queue's
depth per job name, read from Redis when scraped. Exported on NAKOMING_METRICS_PORT when it is set (one worker
per pod or container: each serves its own); the database figures are the API's (services/api/metrics.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from arq.constants import default_queue_name
from prometheus_client.core import GaugeMetricFamily

from shared.jobs import job_name_of
from shared.metrics import ScrapeTimeCollector

NAMED_AT_MOST = 10_000  # queued ids read per scrape to name their jobs; beyond that they count as "other"
QUEUE_CACHE_SECONDS = 2.0


def queue_depth(
    redis: Any, known: Sequence[str], queue_name: str = default_queue_name
) -> ScrapeTimeCollector:
    """Jobs waiting on (or claimed from) the queue, per job name; every registered name is reported, 0 too."""

    async def compute() -> Sequence[Any]:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zcard(queue_name)
            pipe.zrange(queue_name, 0, NAMED_AT_MOST - 1)
            total, ids = await pipe.execute()
        counts = Counter(dict.fromkeys(known, 0))
        for raw in ids:
            name = job_name_of(raw.decode())
            counts[name if name in counts else "other"] += 1
        counts["other"] += total - len(ids)
        family = GaugeMetricFamily(
            "nakoming_queue_depth", "Jobs on the arq queue (waiting or running), by job name.", labels=["job"]
        )
        for name, n in sorted(counts.items()):
            family.add_metric([name], n)
        return [family]

    return ScrapeTimeCollector(compute, QUEUE_CACHE_SECONDS)
