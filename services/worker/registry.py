"""Every job and schedule the worker knows, by name (`domain.verb`).

The arq worker (services/worker/settings.py) and the in-process runner of the embedded default
(services/api/app.py, services/sync.py) both read this registry, so they run the same code. Importing it imports
every task module (services/worker/tasks), which declare their jobs through services/worker/define.py.
"""

from __future__ import annotations

from services.worker import tasks  # noqa: F401  (registers every job and schedule)
from services.worker.define import FUNCTIONS, OPTIONS, PER_WORKER, SCHEDULES, JobFunc, Schedule

__all__ = ["OPTIONS", "PER_WORKER", "SCHEDULES", "Schedule", "load_all"]


def load_all() -> dict[str, JobFunc]:
    """The registry: every job by name."""
    return FUNCTIONS
