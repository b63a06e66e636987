"""The words of the status engine: statuses, schedules, severities, and the rule version."""

from __future__ import annotations

import enum

# Bump whenever a rule or the combination changes meaning, so stored results can be told apart.
RULE_VERSION = "2026.11.1"


class Status(enum.StrEnum):
    open = "open"
    on_track = "on_track"
    at_risk = "at_risk"
    off_track = "off_track"
    fulfilled = "fulfilled"
    partially_fulfilled = "partially_fulfilled"
    lapsed = "lapsed"
    unknown = "unknown"


CLOSED = frozenset({Status.fulfilled, Status.partially_fulfilled, Status.lapsed})


class Schedule(enum.StrEnum):
    no_deadline = "no_deadline"
    on_time = "on_time"
    due_soon = "due_soon"
    overdue = "overdue"


class MilestoneStatus(enum.StrEnum):
    pending = "pending"
    on_track = "on_track"
    at_risk = "at_risk"
    met = "met"
    missed = "missed"


class Severity(enum.StrEnum):
    """How much a reason weighs; the worst one decides (override > authoritative > critical > ...)."""

    info = "info"  # context only, decides nothing
    progress = "progress"  # evidence of progress: on_track when nothing is at risk
    warning = "warning"  # at_risk
    critical = "critical"  # off_track
    authoritative = "authoritative"  # an authoritative source closed the commitment
    override = "override"  # a person decided, until the override expires


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}
