"""The combiner: runs every rule over one commitment's inputs and decides one status.

Order of precedence: an active override, then a deciding reason (the Tweede Kamer's status, a fulfilment
record, a completed recurring series, fulfilment derived from milestones and actions), then the worst severity
among the other rules (critical -> off_track, warning -> at_risk, progress -> on_track), else open (or unknown
when the TK status could not be read). A pure function of (inputs, as_of, thresholds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from shared.status import rules
from shared.status.inputs import CommitmentInput, Thresholds
from shared.status.rules import Reason
from shared.status.vocabulary import (
    CLOSED,
    RULE_RANK,
    SEVERITY_RANK,
    MilestoneStatus,
    Schedule,
    Severity,
    Status,
)


@dataclass(frozen=True)
class Evaluation:
    status: Status
    schedule: Schedule
    source_status: str | None
    reasons: tuple[Reason, ...]
    milestones: dict[str, MilestoneStatus]
    computed_status: Status  # what the rules say, before any override
    milestone_reasons: dict[str, tuple[Reason, ...]] = field(default_factory=dict)

    def reasons_json(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reasons]

    def reasons_text(self) -> str:
        """`reasons_json()` as JSON text, in one call without copying the evidence (the PostgreSQL path)."""
        return reasons_text(self.reasons)

    def digest(self) -> str:
        return digest(self.reasons)


def reasons_text(reasons: tuple[Reason, ...]) -> str:
    """`[r.to_dict() for r in reasons]` as JSON text. orjson writes no whitespace, so the list is the items'
    own JSON joined by commas: byte for byte what serialising the whole list gives."""
    return (b"[" + b",".join([r.json for r in reasons]) + b"]").decode()


def digest(reasons: tuple[Reason, ...], salt: str = "") -> str:
    """A fingerprint of the reasons, stored beside them: a run compares 40 characters, not JSON.
    (Rule, severity, code, params and evidence of each reason as JSON; the message follows from code and params,
    and a change of wording comes with a new RULE_VERSION, which rewrites every stored result.) Joined like
    `reasons_text`, so it equals the digest of the whole list serialised at once."""
    return hashlib.blake2b(
        salt.encode() + b"[" + b",".join([r.fingerprint for r in reasons]) + b"]", digest_size=20
    ).hexdigest()


_BY_SEVERITY = {
    Severity.critical: Status.off_track,
    Severity.warning: Status.at_risk,
    Severity.progress: Status.on_track,
}


def _order(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(sorted(reasons, key=lambda r: (-SEVERITY_RANK[r.severity], RULE_RANK[r.rule])))


def _decision(reasons: list[Reason]) -> Status | None:
    return next((r.decides for r in reasons if r.severity == Severity.authoritative and r.decides), None)


def evaluate(commitment: CommitmentInput, as_of: dt.date, thresholds: Thresholds | None = None) -> Evaluation:
    """Precedence: an active override; the Tweede Kamer's own status (Voldaan, Deels voldaan, Vervallen); a
    fulfilment record that was not rejected (beside a TK status it only informs); a recurring series that ended
    with every period kept; fulfilment derived from milestones and actions; then the worst other reason."""
    thresholds = thresholds or Thresholds()
    found: list[Reason] = []

    tk_reasons = rules.tk_link(commitment)
    found.extend(tk_reasons)
    decided = _decision(tk_reasons)
    unreadable = any(r.decides == Status.unknown for r in tk_reasons)

    milestones: dict[str, MilestoneStatus] = {}
    milestone_reasons: dict[str, tuple[Reason, ...]] = {}
    for item in commitment.milestones:
        milestones[item.id], own = rules.milestone(item, as_of)
        milestone_reasons[item.id] = tuple(own)

    due, _ = rules.due_date(commitment)
    if commitment.recurrence is not None:
        series = rules.recurrence(commitment, as_of, thresholds)
        found.extend(series.reasons)
        decided = decided or series.decides
        schedule = Schedule.on_time if decided in CLOSED else series.schedule
    else:
        claims = rules.single_fulfilment(commitment, as_of, due)
        found.extend(claims)
        decided = decided or _decision(claims)
        rejected = any(r.code == "fulfilment.rejected" for r in claims)
        derived = rules.progress(commitment, milestones, as_of, due, rejected=rejected)
        found.extend(derived)
        decided = decided or _decision(derived)
        schedule, deadline_reasons = rules.deadline(commitment, as_of, thresholds, closed=decided in CLOSED)
        found.extend(deadline_reasons)

    for reasons_of_milestone in milestone_reasons.values():
        found.extend(reasons_of_milestone)
    for act in commitment.actions:
        found.extend(rules.action(act, as_of, thresholds))
    found.extend(rules.signals(commitment, thresholds))
    found.extend(rules.due_soon_without_progress(schedule, found))

    if decided is not None:
        computed = decided
    else:
        worst = max(
            (r.severity for r in found if r.severity in _BY_SEVERITY),
            key=SEVERITY_RANK.__getitem__,
            default=None,
        )
        computed = _BY_SEVERITY[worst] if worst else (Status.unknown if unreadable else Status.open)

    override_reasons = rules.override(commitment, as_of)
    found.extend(override_reasons)
    status = next((r.decides for r in override_reasons if r.severity == Severity.override), None) or computed
    if not found:
        found.extend(rules.nothing_yet(commitment, schedule))

    source_status = commitment.tk.status if commitment.tk is not None else None
    return Evaluation(status, schedule, source_status, _order(found), milestones, computed, milestone_reasons)
