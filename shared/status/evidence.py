"""Evidence items of reasons, one small builder per type: each carries `type`, the record's `id` and a `path`
in this API that resolves to it (shared/status/schemas.py types them for OpenAPI)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def commitment_path(commitment_id: str) -> str:
    return f"/v1/commitments/{commitment_id}"


def due_date(commitment_id: str, day: dt.date, origin: str) -> dict[str, Any]:
    return {
        "type": "due_date",
        "id": commitment_id,
        "path": commitment_path(commitment_id),
        "date": day.isoformat(),
        "from": origin,
    }


def period(commitment_id: str, start: dt.date, end: dt.date, fulfilled: bool) -> dict[str, Any]:
    return {
        "type": "period",
        "id": commitment_id,
        "path": f"{commitment_path(commitment_id)}/fulfilments",
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "fulfilled": fulfilled,
    }


def tk_toezegging(nummer: str, status: str | None, sample: bool = False) -> dict[str, Any]:
    return {
        "type": "tk_toezegging",
        "id": nummer,
        "path": f"/v1/tk/toezeggingen/{nummer}",
        "nummer": nummer,
        "status": status,
        "sample": sample,
    }


def tk_document(
    doc_id: str | None, nummer: str | None, titel: str | None, datum: dt.date | None, sample: bool = False
) -> dict[str, Any]:
    path = f"/v1/tk/documents/{doc_id}" if doc_id else f"/v1/tk/documents?nummer={nummer}"
    return {
        "type": "tk_document",
        "id": doc_id,
        "path": path,
        "nummer": nummer,
        "titel": titel,
        "datum": iso(datum),
        "sample": sample,
    }


def milestone(
    milestone_id: str,
    due: dt.date,
    target: float | None,
    *,
    planned_value: float | None = None,
    projected_value: float | None = None,
    reached_on: dt.date | None = None,
    status: str | None = None,
    items: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    # Every key always present: list rows go out as stored, and must equal the validated single record.
    return {
        "type": "milestone",
        "id": milestone_id,
        "path": f"/v1/milestones/{milestone_id}",
        "due_date": due.isoformat(),
        "target_value": target,
        "planned_value": planned_value,
        "projected_value": projected_value,
        "reached_on": iso(reached_on),
        "status": status,
        "items": [dict(i) for i in items],
    }


def measurement(milestone_id: str, measurement_id: Any, day: dt.date, value: float) -> dict[str, Any]:
    mid = str(measurement_id) if measurement_id is not None else None
    path = f"/v1/milestones/{milestone_id}/measurements/{mid}" if mid else f"/v1/milestones/{milestone_id}"
    return {
        "type": "measurement",
        "id": mid,
        "path": path,
        "milestone_id": milestone_id,
        "date": day.isoformat(),
        "value": value,
    }


def action(action_id: str, state: str, last_update: dt.date | None) -> dict[str, Any]:
    return {
        "type": "action",
        "id": action_id,
        "path": f"/v1/actions/{action_id}",
        "state": state,
        "last_update_date": iso(last_update),
    }


def fulfilment(
    commitment_id: str,
    record_id: str,
    kind: str,
    day: dt.date,
    period_start: dt.date | None,
    review: str | None,
    items: tuple[dict[str, Any], ...],
) -> dict[str, Any]:
    path = f"{commitment_path(commitment_id)}/fulfilment"
    if period_start is not None:
        path += f"?period={period_start.isoformat()}"
    return {
        "type": "fulfilment",
        "id": record_id,
        "path": path,
        "kind": kind,
        "date": day.isoformat(),
        "period_start": iso(period_start),
        "review": review or "pending",
        "items": [dict(i) for i in items],
    }


def override(
    commitment_id: str,
    status: str,
    reason: str,
    expires_at: dt.datetime | None,
    set_by: str | None,
    set_at: dt.datetime | None,
) -> dict[str, Any]:
    return {
        "type": "override",
        "id": commitment_id,
        "path": f"{commitment_path(commitment_id)}/status-override",
        "status": status,
        "reason": reason,
        "expires_at": iso(expires_at),
        "set_by": set_by,
        "set_at": iso(set_at),
    }


def commitment(commitment_id: str, status: str | None = None) -> dict[str, Any]:
    return {
        "type": "commitment",
        "id": commitment_id,
        "path": commitment_path(commitment_id),
        "status": status,
    }


def suppressed(count: int, min_cell: int) -> int | None:
    """A count below the minimum cell is withheld (None), as in the signal statistics."""
    return count if count == 0 or count >= min_cell else None


def signal_counts(
    commitment_id: str,
    themes: tuple[str, ...],
    recent: int,
    baseline: int,
    recent_days: int,
    baseline_days: int,
    expected: float,
    p_value: float,
    parties: list[dict[str, Any]],
    linked: dict[str, Any],
    min_cell: int,
) -> dict[str, Any]:
    return {
        "type": "signal_counts",
        "id": commitment_id,
        "path": "/v1/signals/trends" + (f"?theme={themes[0]}" if themes else ""),
        "recent": suppressed(recent, min_cell),
        "baseline": suppressed(baseline, min_cell),
        "recent_days": recent_days,
        "baseline_days": baseline_days,
        "expected": round(expected, 2),
        "p_value": round(p_value, 6),
        "themes": list(themes),
        "parties": parties,
        "linked": linked,
    }
