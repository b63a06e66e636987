"""The words of the status engine: statuses, schedules, severities, and the rule version."""

from __future__ import annotations

import enum

# Bump whenever a rule or the combination changes meaning, so stored results can be told apart.
RULE_VERSION = "2026.12.1"


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


class Rule(enum.StrEnum):
    """Which rule gave a reason (the order is the order reasons of equal weight are listed in)."""

    override = "override"
    tk_link = "tk_link"
    fulfilment = "fulfilment"
    recurrence = "recurrence"
    deadline = "deadline"
    progress = "progress"
    milestone = "milestone"
    action = "action"
    signals = "signals"
    rollup = "rollup"  # a recommendation's status from its commitments and actions
    none = "none"


RULE_RANK = {r: i for i, r in enumerate(Rule)}
