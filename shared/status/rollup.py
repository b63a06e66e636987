"""Roll-up of a recommendation's status from its commitments and its own actions (pure functions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from shared.status import evidence as ev
from shared.status.messages import nested, ref
from shared.status.rules import Reason
from shared.status.vocabulary import CLOSED, Rule, Severity, Status


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
    if any(s in (Status.on_track, *CLOSED) for s in statuses) or any(
        s in ("in_progress", "done") for s in states
    ):
        return Status.on_track
    if statuses and all(s == Status.unknown for s in statuses):
        return Status.unknown
    return Status.open


def _counts(values: Iterable[str], prefix: str) -> list[dict[str, object]]:
    return [
        nested("count.item", n=n, what=ref(f"{prefix}.{value}"))
        for value, n in sorted(Counter(values).items())
    ]


def rollup_reasons(
    commitments: Sequence[tuple[str, str]], actions: Sequence[tuple[str, str, object]]
) -> list[Reason]:
    """Why a recommendation has its status: its commitments by status and its own actions by state, with each
    as evidence. `commitments` are (id, status), `actions` (id, state, last update)."""
    reasons = []
    if commitments:
        reasons.append(
            Reason(
                Rule.rollup,
                Severity.info,
                "recommendation.commitments",
                {"count": len(commitments), "statuses": _counts((s for _, s in commitments), "status")},
                tuple(ev.commitment(cid, status) for cid, status in commitments),
            )
        )
    if actions:
        reasons.append(
            Reason(
                Rule.rollup,
                Severity.info,
                "recommendation.actions",
                {"count": len(actions), "states": _counts((s for _, s, _ in actions), "state")},
                tuple(ev.action(aid, state, last) for aid, state, last in actions),  # type: ignore[arg-type]
            )
        )
    return reasons or [Reason(Rule.rollup, Severity.info, "recommendation.nothing")]
