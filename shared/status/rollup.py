"""Roll-up of a recommendation's status from its commitments and its own actions (a pure function)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.status.vocabulary import CLOSED, Status


def rollup(commitment_statuses: Iterable[str], action_states: Iterable[str]) -> Status:
    """Worst risk first (off_track, then at_risk or a blocked action); all commitments closed -> fulfilled
    when all are fulfilled, lapsed when all lapsed, else partially_fulfilled; progress -> on_track."""
    statuses = [Status(s) for s in commitment_statuses]
    states = list(action_states)
    if Status.off_track in statuses:
        return Status.off_track
    if Status.at_risk in statuses or "blocked" in states:
        return Status.at_risk
    open_actions = [s for s in states if s in ("planned", "in_progress")]
    if statuses and all(s in CLOSED for s in statuses) and not open_actions:
        if all(s == Status.fulfilled for s in statuses):
            return Status.fulfilled
        if all(s == Status.lapsed for s in statuses):
            return Status.lapsed
        return Status.partially_fulfilled
    if any(s in (Status.on_track, *CLOSED) for s in statuses) or any(s in ("in_progress", "done") for s in states):
        return Status.on_track
    if statuses and all(s == Status.unknown for s in statuses):
        return Status.unknown
    return Status.open
