"""The status rules: small pure functions over the input dataclasses and `as_of`.

Each rule returns reasons ({rule, severity, message, evidence}); shared/status/combine.py turns them
into one status. Messages are English sentences a policy officer can read; evidence points at the
records that decided it (TK documents, measurements, actions, signal counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from collections.abc import Iterable
from typing import Any

from shared.stats import poisson_rise
from shared.status.inputs import (
    ActionInput, CommitmentInput, MeasurementInput, MeasurementSummary, MilestoneInput, OverrideInput, Thresholds,
    TkInput,
)
from shared.status.vocabulary import MilestoneStatus, Schedule, Severity, Status


@dataclass(frozen=True)
class Reason:
    rule: str
    severity: Severity
    message: str
    evidence: tuple[dict[str, Any], ...] = ()
    # Only authoritative and override reasons name the status they decide; `unknown` marks raw TK data.
    decides: Status | None = field(default=None, compare=True)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": str(self.severity), "message": self.message,
                "evidence": [dict(e) for e in self.evidence]}


def fmt(value: float) -> str:
    return f"{round(value, 2):g}"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# 1. TK link ------------------------------------------------------------------------------------------

TK_STATUSES = {
    "voldaan": Status.fulfilled,
    "deels voldaan": Status.partially_fulfilled,
    "vervallen": Status.lapsed,
    "openstaand": Status.open,
    "open": Status.open,
}


def normalise_tk_status(raw: str | None) -> Status | None:
    """The TK's own words mapped to ours, ignoring case and spacing; None when not in the schema."""
    if raw is None:
        return None
    return TK_STATUSES.get(" ".join(raw.split()).casefold())


def tk_link(commitment: CommitmentInput) -> list[Reason]:
    """Voldaan -> fulfilled (fulfilment letter as evidence), Deels voldaan -> partially_fulfilled,
    Vervallen -> lapsed; a value outside the schema is kept raw and reported, never guessed."""
    tk = commitment.tk
    if tk is None:
        if commitment.tk_toezegging_nummer:
            return [Reason("tk_link", Severity.info,
                           f"Linked to toezegging {commitment.tk_toezegging_nummer}, which is not (yet) in the "
                           "Tweede Kamer mirror.",
                           ({"type": "tk_toezegging", "nummer": commitment.tk_toezegging_nummer},))]
        return []
    evidence: dict[str, Any] = {"type": "tk_toezegging", "nummer": tk.nummer, "status": tk.status}
    if tk.removed:
        return [Reason("tk_link", Severity.info,
                       f"The Tweede Kamer removed toezegging {tk.nummer}; its status is no longer used.",
                       (evidence,))]
    if not tk.status or not tk.status.strip():
        return [Reason("tk_link", Severity.info, f"Toezegging {tk.nummer} has no status at the Tweede Kamer.",
                       (evidence,))]
    status = normalise_tk_status(tk.status)
    if status is None:
        return [Reason("tk_link", Severity.info,
                       f"The Tweede Kamer gives toezegging {tk.nummer} the status '{tk.status}', which is not one "
                       "of Openstaand, Voldaan, Deels voldaan or Vervallen; it is kept as received and not "
                       "interpreted.", (evidence,), decides=Status.unknown)]
    if status == Status.open:
        return [Reason("tk_link", Severity.info,
                       f"The Tweede Kamer lists toezegging {tk.nummer} as open ('{tk.status}').", (evidence,))]
    return [_tk_closed(tk, status, evidence)]


def _tk_closed(tk: TkInput, status: Status, evidence: dict[str, Any]) -> Reason:
    items = [evidence]
    letter = tk.fulfilment_letter
    if letter is not None:
        items.append({"type": "tk_document", "id": letter.id, "nummer": letter.nummer, "titel": letter.titel,
                      "datum": _iso(letter.datum)})
    by_letter = ""
    if letter is not None:
        by_letter = f" by letter {letter.nummer or letter.id}"
        if letter.datum is not None:
            by_letter += f" of {letter.datum.isoformat()}"
    verdict = {Status.fulfilled: "fulfilled", Status.partially_fulfilled: "partially fulfilled",
               Status.lapsed: "lapsed"}[status]
    message = f"The Tweede Kamer marks toezegging {tk.nummer} as {verdict} ('{tk.status}'){by_letter}."
    return Reason("tk_link", Severity.authoritative, message, tuple(items), decides=status)


# 2. Deadline -----------------------------------------------------------------------------------------


def due_date(commitment: CommitmentInput) -> tuple[dt.date | None, str]:
    """The commitment's own due date, else the TK datumNakoming."""
    if commitment.due_date is not None:
        return commitment.due_date, "commitment"
    tk = commitment.tk
    if tk is not None and not tk.removed and tk.datum_nakoming is not None:
        return tk.datum_nakoming, "tk_datum_nakoming"
    return None, "none"


def deadline(commitment: CommitmentInput, as_of: dt.date, thresholds: Thresholds, *,
             closed: bool) -> tuple[Schedule, list[Reason]]:
    """Passed due date and not closed -> off_track + overdue; within due_soon_days -> due_soon.
    A closed commitment has nothing more due."""
    due, origin = due_date(commitment)
    if due is None:
        return Schedule.no_deadline, []
    if closed:
        return Schedule.on_time, []
    evidence = ({"type": "due_date", "date": due.isoformat(), "from": origin},)
    label = "due date" if origin == "commitment" else "TK deadline (datumNakoming)"
    days = (due - as_of).days
    if days < 0:
        return Schedule.overdue, [Reason(
            "deadline", Severity.critical,
            f"The {label} {due.isoformat()} has passed and the commitment is not fulfilled.", evidence)]
    if days <= thresholds.due_soon_days:
        # No day counts in messages: reasons must not change every night, or history fills with noise.
        return Schedule.due_soon, [Reason("deadline", Severity.info,
                                          f"The {label} {due.isoformat()} is within {thresholds.due_soon_days} days.",
                                          evidence)]
    return Schedule.on_time, []


def due_soon_without_progress(schedule: Schedule, reasons: list[Reason]) -> list[Reason]:
    """Something falls due soon and nothing shows progress -> at_risk."""
    if schedule != Schedule.due_soon or any(r.severity != Severity.info for r in reasons):
        return []
    return [Reason("deadline", Severity.warning,
                   "The deadline is near and there is no evidence of progress (no measurement on course, "
                   "no action under way).")]


# 3. Milestones ---------------------------------------------------------------------------------------


def _meets(milestone: MilestoneInput, value: float) -> bool:
    assert milestone.target_value is not None
    return value <= milestone.target_value if milestone.decreasing else value >= milestone.target_value


def planned_value(milestone: MilestoneInput, on: dt.date) -> float | None:
    """The straight line from baseline to target at `on` (None without a dated baseline)."""
    if milestone.baseline_value is None or milestone.baseline_date is None or milestone.target_value is None:
        return None
    span = (milestone.due_date - milestone.baseline_date).days
    if span <= 0:
        return milestone.target_value
    share = min(max((on - milestone.baseline_date).days / span, 0.0), 1.0)
    return milestone.baseline_value + share * (milestone.target_value - milestone.baseline_value)


def summarise(milestone: MilestoneInput, as_of: dt.date) -> MeasurementSummary:
    """The milestone's measurements dated up to `as_of`, summarised (its `summary` when the loader gave one;
    a summary is only valid for the date it was made for)."""
    if milestone.summary is not None:
        if milestone.summary.upto != as_of:
            raise ValueError(f"milestone {milestone.id}: measurements summarised up to {milestone.summary.upto}, "
                             f"evaluated as of {as_of}")
        return milestone.summary
    return _summary_of(milestone, [p for p in milestone.measurements if p.date <= as_of], as_of)


def _summary_of(milestone: MilestoneInput, points: Iterable[MeasurementInput], upto: dt.date) -> MeasurementSummary:
    series: dict[dt.date, float] = {point.date: point.value for point in sorted(points)}  # one value per date
    if not series:
        return MeasurementSummary(upto)
    due = milestone.due_date
    sx = sxx = 0
    sy = sxy = 0.0
    for day, value in series.items():
        x = (day - due).days
        sx += x
        sxx += x * x
        sy += value
        sxy += x * value
    latest = max(series)
    return MeasurementSummary(upto, len(series), latest, series[latest], sx, sxx, sy, sxy)


def projected_from(milestone: MilestoneInput, summary: MeasurementSummary) -> float | None:
    """The least-squares line through the summarised measurements, read off at the due date (x = 0); with a
    single measurement the line from the baseline to it (None when there is no second point).

    From the sums alone: slope = (n Sxy - Sx Sy) / (n Sxx - Sx^2), value at x = 0 = (Sy - slope Sx) / n.
    The denominator is an exact integer, so a series of distinct dates never divides by zero.
    """
    n, sx, sxx, sy, sxy = summary.n, summary.sx, summary.sxx, summary.sy, summary.sxy
    if (n == 1 and milestone.baseline_value is not None and milestone.baseline_date is not None
            and milestone.baseline_date != summary.latest_date):
        x = (milestone.baseline_date - milestone.due_date).days
        n, sx, sxx, sy, sxy = 2, sx + x, sxx + x * x, sy + milestone.baseline_value, sxy + x * milestone.baseline_value
    if n < 2:
        return None
    spread = n * sxx - sx * sx
    if spread == 0:
        return None
    slope = (n * sxy - sx * sy) / spread
    return (sy - slope * sx) / n


def projected_value(milestone: MilestoneInput, points: list[MeasurementInput]) -> float | None:
    """Least-squares line through the measurements, read off at the due date; with a single measurement
    the line from the baseline to it (None when there is no second point)."""
    return projected_from(milestone, _summary_of(milestone, points, milestone.due_date))


def _m_evidence(milestone: MilestoneInput, **extra: Any) -> dict[str, Any]:
    return {"type": "milestone", "id": milestone.id, "due_date": milestone.due_date.isoformat(),
            "target_value": milestone.target_value, **extra}


def _point(milestone: MilestoneInput, point: MeasurementInput) -> dict[str, Any]:
    return {"type": "measurement", "milestone_id": milestone.id, "date": point.date.isoformat(), "value": point.value}


def milestone(milestone: MilestoneInput, as_of: dt.date) -> tuple[MilestoneStatus, list[Reason]]:
    """Latest measurement against the baseline-to-target line, trend projected to the due date:
    a projected miss -> at_risk; a passed due date with the target unmet or unmeasured -> missed (off_track)."""
    name = f"Milestone '{milestone.title}'"
    due = milestone.due_date.isoformat()
    if milestone.target_value is None:
        if as_of <= milestone.due_date:
            return MilestoneStatus.pending, []
        return MilestoneStatus.at_risk, [Reason(
            "milestone", Severity.warning,
            f"{name} was due on {due}; it has no numeric indicator, so nothing shows it was reached.",
            (_m_evidence(milestone),))]
    target = fmt(milestone.target_value)
    summary = summarise(milestone, as_of)
    latest = MeasurementInput(summary.latest_date, summary.latest_value) if summary.n else None  # type: ignore[arg-type]
    if latest is not None and _meets(milestone, latest.value):
        return MilestoneStatus.met, [Reason(
            "milestone", Severity.progress,
            f"{name} reached its target {target}: {fmt(latest.value)} measured on {latest.date.isoformat()}.",
            (_m_evidence(milestone), _point(milestone, latest)))]
    if as_of > milestone.due_date:
        if latest is None:
            message = f"{name} was due on {due} and has no measurement: target {target} is not shown to be met."
            evidence: tuple[dict[str, Any], ...] = (_m_evidence(milestone),)
        else:
            message = (f"{name} was due on {due}; the latest measurement {fmt(latest.value)} "
                       f"({latest.date.isoformat()}) falls short of target {target}.")
            evidence = (_m_evidence(milestone), _point(milestone, latest))
        return MilestoneStatus.missed, [Reason("milestone", Severity.critical, message, evidence)]
    if latest is None:
        return MilestoneStatus.pending, [Reason(
            "milestone", Severity.info, f"{name} (due {due}, target {target}) has no measurement yet.",
            (_m_evidence(milestone),))]
    planned = planned_value(milestone, latest.date)
    projected = projected_from(milestone, summary)
    evidence = (_m_evidence(milestone, planned_value=planned, projected_value=projected), _point(milestone, latest))
    behind = planned is not None and not _meets_line(milestone, latest.value, planned)
    line = f" against {fmt(planned)} planned for that date" if planned is not None else ""
    now = f"{fmt(latest.value)} on {latest.date.isoformat()}{line}"
    if projected is not None:
        if not _meets(milestone, projected):
            return MilestoneStatus.at_risk, [Reason(
                "milestone", Severity.warning,
                f"{name}: {now}; at the current trend it reaches {fmt(projected)} by {due}, short of target {target}.",
                evidence)]
        return MilestoneStatus.on_track, [Reason(
            "milestone", Severity.progress,
            f"{name}: {now}; at the current trend it reaches {fmt(projected)} by {due} (target {target}).",
            evidence)]
    if behind:
        return MilestoneStatus.at_risk, [Reason(
            "milestone", Severity.warning, f"{name}: {now}, behind the planned line to target {target}.", evidence)]
    if planned is None:
        return MilestoneStatus.pending, [Reason(
            "milestone", Severity.info,
            f"{name}: {now}; without a baseline one measurement shows no trend yet (target {target}).", evidence)]
    return MilestoneStatus.on_track, [Reason(
        "milestone", Severity.progress, f"{name}: {now}, on the planned line to target {target}.", evidence)]


def _meets_line(milestone: MilestoneInput, value: float, planned: float) -> bool:
    return value <= planned if milestone.decreasing else value >= planned


# 4. Actions ------------------------------------------------------------------------------------------


def action(action: ActionInput, as_of: dt.date, thresholds: Thresholds) -> list[Reason]:
    """Blocked, or open without an update for stale_action_days -> at_risk; done or recently updated
    work -> evidence of progress."""
    name = f"Action '{action.title}'"
    last = action.last_update_date or action.created_date
    evidence = ({"type": "action", "id": action.id, "state": action.state, "last_update_date": _iso(last)},)
    if action.state == "blocked":
        return [Reason("action", Severity.warning, f"{name} is blocked.", evidence)]
    if action.state == "done":
        return [Reason("action", Severity.progress, f"{name} is done.", evidence)]
    if action.state not in ("planned", "in_progress") or last is None:
        return []
    idle = (as_of - last).days
    if idle > thresholds.stale_action_days:
        return [Reason("action", Severity.warning,
                       f"{name} is {action.state.replace('_', ' ')} but has had no update since {last.isoformat()} "
                       f"(more than {thresholds.stale_action_days} days).", evidence)]
    if action.state == "in_progress":
        return [Reason("action", Severity.progress,
                       f"{name} is in progress (last update {last.isoformat()}).", evidence)]
    return []


# 5. Client signals -----------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _rise(recent: int, recent_days: int, baseline: int, baseline_days: int, alpha: float, min_count: int) -> Any:
    # Many commitments share the same counts; the test itself is a pure function, so remember it.
    return poisson_rise(recent, recent_days, baseline, baseline_days, alpha=alpha, min_count=min_count)


def signals(commitment: CommitmentInput, thresholds: Thresholds) -> list[Reason]:
    """A significant rise of client signals (one-sided Poisson test, shared.stats.poisson_rise) -> at_risk."""
    counts = commitment.signals
    if counts is None:
        return []
    test = _rise(counts.recent, counts.recent_days, counts.baseline, counts.baseline_days,
                 thresholds.signal_alpha, thresholds.signal_min_count)
    if not test.significant:
        return []
    scope = ", ".join(counts.themes) if counts.themes else "this commitment"
    evidence = {"type": "signal_counts", "recent": counts.recent, "recent_days": counts.recent_days,
                "baseline": counts.baseline, "baseline_days": counts.baseline_days,
                "expected": round(test.expected, 2), "p_value": round(test.p_value, 6),
                "themes": list(counts.themes), "provider_party_id": counts.provider_party_id}
    return [Reason("signals", Severity.warning,
                   f"Client signals rose: {counts.recent} in the last {counts.recent_days} days on {scope}, "
                   f"against {test.expected:.1f} expected from the {counts.baseline_days} days before "
                   f"(p={test.p_value:.4f}).", (evidence,))]


# Override --------------------------------------------------------------------------------------------


def override_active(override: OverrideInput, as_of: dt.date) -> bool:
    """Active up to and including the (UTC) day of expires_at."""
    return override.expires_at is None or as_of <= override.expires_at.astimezone(dt.UTC).date()


def override(commitment: CommitmentInput, as_of: dt.date) -> list[Reason]:
    """A person's decision wins until it expires, and shows as a reason."""
    item = commitment.override
    if item is None:
        return []
    evidence = ({"type": "override", "status": item.status, "reason": item.reason,
                 "expires_at": _iso(item.expires_at), "set_by": item.set_by, "set_at": _iso(item.set_at)},)
    until = f" until {item.expires_at.astimezone(dt.UTC).date().isoformat()}" if item.expires_at else ""
    if override_active(item, as_of):
        return [Reason("override", Severity.override,
                       f"Status set by hand to {item.status.replace('_', ' ')}{until}: {item.reason}", evidence,
                       decides=Status(item.status))]
    return [Reason("override", Severity.info,
                   f"A manual status ({item.status.replace('_', ' ')}) expired{until.replace(' until', ' on')}; "
                   "the computed status applies again.", evidence)]
