"""The combiner: runs every rule over one commitment's inputs and decides one status.

Order of precedence: an active override, then an authoritative source (fulfilled / partially_fulfilled /
lapsed), then the worst severity among the other rules (critical -> off_track, warning -> at_risk,
progress -> on_track), else open (or unknown when the TK status could not be read).
A pure function of (inputs, as_of, thresholds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from shared.status import rules
from shared.status.inputs import CommitmentInput, Thresholds
from shared.status.rules import Reason
from shared.status.vocabulary import CLOSED, SEVERITY_RANK, MilestoneStatus, Schedule, Severity, Status

RULE_ORDER = ("override", "tk_link", "deadline", "milestone", "action", "signals")


@dataclass(frozen=True)
class Evaluation:
    status: Status
    schedule: Schedule
    source_status: str | None
    reasons: tuple[Reason, ...]
    milestones: dict[str, MilestoneStatus]
    computed_status: Status  # what the rules say, before any override

    def reasons_json(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reasons]

    def reasons_text(self) -> str:
        """`reasons_json()` as JSON text, in one call without copying the evidence (the PostgreSQL path)."""
        return orjson.dumps([{"rule": r.rule, "severity": r.severity, "message": r.message,
                              "evidence": r.evidence} for r in self.reasons]).decode()

    def digest(self) -> str:
        """A fingerprint of the reasons, stored beside them: a run compares 40 characters, not JSON.
        (The bytes hashed are one record per reason; hashed in one call, same digest as record by record.)"""
        return hashlib.blake2b("".join([f"{r.rule}\x1f{r.severity}\x1f{r.message}\x1f{r.evidence!r}\x1e"
                                        for r in self.reasons]).encode(), digest_size=20).hexdigest()


_BY_SEVERITY = {Severity.critical: Status.off_track, Severity.warning: Status.at_risk,
                Severity.progress: Status.on_track}


def evaluate(commitment: CommitmentInput, as_of: dt.date, thresholds: Thresholds | None = None) -> Evaluation:
    thresholds = thresholds or Thresholds()
    found: list[Reason] = []

    tk_reasons = rules.tk_link(commitment)
    found += tk_reasons
    authoritative = next((r.decides for r in tk_reasons if r.severity == Severity.authoritative), None)
    unreadable = any(r.decides == Status.unknown for r in tk_reasons)

    schedule, deadline_reasons = rules.deadline(commitment, as_of, thresholds, closed=authoritative in CLOSED)
    found += deadline_reasons

    milestones: dict[str, MilestoneStatus] = {}
    for item in commitment.milestones:
        milestones[item.id], milestone_reasons = rules.milestone(item, as_of)
        found += milestone_reasons
    for act in commitment.actions:
        found += rules.action(act, as_of, thresholds)
    found += rules.signals(commitment, thresholds)
    found += rules.due_soon_without_progress(schedule, found)

    if authoritative is not None:
        computed = authoritative
    else:
        worst = max((r.severity for r in found if r.severity in _BY_SEVERITY),
                    key=SEVERITY_RANK.__getitem__, default=None)
        computed = _BY_SEVERITY[worst] if worst else (Status.unknown if unreadable else Status.open)

    override_reasons = rules.override(commitment, as_of)
    found += override_reasons
    decided = next((r.decides for r in override_reasons if r.severity == Severity.override), None)
    status = decided or computed

    ordered = sorted(found, key=lambda r: (-SEVERITY_RANK[r.severity], RULE_ORDER.index(r.rule)))
    source_status = commitment.tk.status if commitment.tk is not None else None
    return Evaluation(status, schedule, source_status, tuple(ordered), milestones, computed)
