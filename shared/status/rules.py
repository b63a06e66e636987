"""The status rules: small pure functions over the input dataclasses and `as_of`.

Each rule returns reasons ({rule, severity, code, params, evidence}); shared/status/combine.py turns them into one
status. The words come from one catalogue (shared/status/messages.py, Dutch and English): a rule names a message
code and its params, never a sentence. Evidence points at the records that decided it
(shared/status/evidence.py: milestones, measurements, actions, TK documents, fulfilment records, signal counts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from shared.stats import poisson_rise
from shared.status import evidence as ev
from shared.status.inputs import (
    ActionInput,
    CommitmentInput,
    FulfilmentInput,
    MeasurementInput,
    MeasurementSummary,
    MilestoneInput,
    Thresholds,
    TkDocumentInput,
    TkInput,
)
from shared.status.messages import nested, ref, render
from shared.status.periods import Period, periods
from shared.status.vocabulary import MilestoneStatus, Rule, Schedule, Severity, Status


@dataclass(frozen=True)
class Reason:
    rule: Rule
    severity: Severity
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[dict[str, Any], ...] = ()
    # Only deciding reasons name the status they decide; `unknown` marks raw TK data.
    decides: Status | None = None

    # Made once per reason and kept on it (a milestone's reasons count for the milestone and for its commitment);
    # plain dict lookups, as functools.cached_property takes a lock on Python 3.11.

    @property
    def message(self) -> str:
        cached = self.__dict__.get("_message")
        if cached is None:
            cached = self.__dict__["_message"] = render(self.code, self.params)
        return cached

    @property
    def fingerprint(self) -> bytes:
        """(rule, severity, code, params, evidence) as JSON: what a digest is made of (the message follows from
        code and params)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = self.__dict__["_fingerprint"] = orjson.dumps(
                (self.rule, self.severity, self.code, self.params, self.evidence)
            )
        return cached

    @property
    def json(self) -> bytes:
        """The stored form (`to_dict()`) as JSON."""
        cached = self.__dict__.get("_json")
        if cached is None:
            cached = self.__dict__["_json"] = orjson.dumps(
                {
                    "rule": self.rule,
                    "severity": self.severity,
                    "code": self.code,
                    "params": self.params,
                    "message": self.message,
                    "evidence": self.evidence,
                }
            )
        return cached

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": str(self.rule),
            "severity": str(self.severity),
            "code": self.code,
            "params": self.params,
            "message": self.message,
            "evidence": [dict(e) for e in self.evidence],
        }


def fmt(value: float) -> str:
    return f"{round(value, 2):g}"


_VERDICT = {
    Status.fulfilled: "verdict.fulfilled",
    Status.partially_fulfilled: "verdict.partially_fulfilled",
    Status.lapsed: "verdict.lapsed",
}


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


def _tk_params(tk: TkInput, **params: Any) -> dict[str, Any]:
    params = {"nummer": tk.nummer, **params}
    return params


def _tk_reason(
    tk: TkInput,
    severity: Severity,
    code: str,
    items: tuple[dict[str, Any], ...],
    decides: Status | None = None,
    **params: Any,
) -> Reason:
    """A TK reason; one that rests on sample data says so in its own words (the `sample` clause)."""
    if tk.sample or any(item.get("sample") for item in items):
        code_params = {"reason": nested(code, **_tk_params(tk, **params)), "sample": nested("tk.sample")}
        return Reason(Rule.tk_link, severity, "tk.sample_wrapped", code_params, items, decides)
    return Reason(Rule.tk_link, severity, code, _tk_params(tk, **params), items, decides)


def linked_to_tk(commitment: CommitmentInput) -> bool:
    """Linked to a toezegging that the mirror holds (and the Kamer has not removed): the Kamer judges it."""
    return commitment.tk is not None and not commitment.tk.removed


def tk_link(commitment: CommitmentInput) -> list[Reason]:
    """Voldaan -> fulfilled (fulfilment letters as evidence), Deels voldaan -> partially_fulfilled,
    Vervallen -> lapsed; a value outside the schema is kept raw and reported, never guessed."""
    tk = commitment.tk
    if tk is None:
        if commitment.tk_toezegging_nummer:
            nummer = commitment.tk_toezegging_nummer
            return [
                Reason(
                    Rule.tk_link,
                    Severity.info,
                    "tk.not_mirrored",
                    {"nummer": nummer},
                    (ev.tk_toezegging(nummer, None),),
                )
            ]
        return []
    item = (ev.tk_toezegging(tk.nummer, tk.status, tk.sample),)
    if tk.removed:
        return [_tk_reason(tk, Severity.info, "tk.removed", item)]
    if not tk.status or not tk.status.strip():
        return [_tk_reason(tk, Severity.info, "tk.no_status", item)]
    status = normalise_tk_status(tk.status)
    if status is None:
        return [_tk_reason(tk, Severity.info, "tk.unreadable", item, Status.unknown, status=tk.status)]
    if status == Status.open:
        return [_tk_reason(tk, Severity.info, "tk.open", item, status=tk.status)]
    letters = tk.letters
    items = item + tuple(_letter(letter) for letter in letters)
    clause = nested("tk.letters", letters=[_letter_name(letter) for letter in letters]) if letters else ""
    return [
        _tk_reason(
            tk,
            Severity.authoritative,
            "tk.closed",
            items,
            status,
            verdict=ref(_VERDICT[status]),
            status=tk.status,
            letters=clause,
        )
    ]


def _letter(letter: TkDocumentInput) -> dict[str, Any]:
    return ev.tk_document(letter.id, letter.nummer, letter.titel, letter.datum, letter.sample)


def _letter_name(letter: TkDocumentInput) -> Any:
    name = letter.nummer or letter.id or "?"
    return (
        nested("tk.letter", nummer=name, date=letter.datum.isoformat()) if letter.datum is not None else name
    )


# 2. Fulfilment records -------------------------------------------------------------------------------


def _review_clause(record: FulfilmentInput) -> Any:
    if record.review == "accepted":
        return nested("review.accepted", reviewer=record.reviewed_by or "?")
    return ref("review.pending")


def _record_evidence(commitment: CommitmentInput, record: FulfilmentInput) -> dict[str, Any]:
    return ev.fulfilment(
        commitment.id,
        record.id,
        record.kind,
        record.date,
        record.period_start,
        record.review,
        record.evidence,
    )


def _evidence_names(record: FulfilmentInput) -> list[str]:
    names = []
    for item in record.evidence:
        names.append(str(item.get("url") or item.get("tk_document_nummer") or item.get("source_id") or "?"))
    return names


def _period_clause(period: Period | None) -> Any:
    return nested("period.of", start=period.start.isoformat(), end=period.end.isoformat()) if period else ""


def fulfilment(
    commitment: CommitmentInput,
    record: FulfilmentInput,
    as_of: dt.date,
    due: dt.date | None,
    period: Period | None = None,
) -> Reason:
    """A claim decides its status unless it was rejected (or the Kamer judges: then it stands beside the TK
    status). A rejected claim is a reason: critical once the deadline has passed."""
    item = (_record_evidence(commitment, record),)
    if record.review == "rejected":
        note = f": {record.review_note}" if record.review_note else ""
        severity = Severity.critical if due is not None and as_of > due else Severity.info
        return Reason(
            Rule.fulfilment,
            severity,
            "fulfilment.rejected",
            {
                "date": record.date.isoformat(),
                "period": _period_clause(period),
                "reviewer": record.reviewed_by or "?",
                "note": note,
            },
            item,
        )
    status = Status(record.kind)
    if linked_to_tk(commitment):
        assert commitment.tk is not None
        return Reason(
            Rule.fulfilment,
            Severity.info,
            "fulfilment.beside_tk",
            {
                "verdict": ref(f"status.{status}"),
                "date": record.date.isoformat(),
                "review": _review_clause(record),
                "nummer": commitment.tk.nummer,
            },
            item,
        )
    return Reason(
        Rule.fulfilment,
        Severity.authoritative,
        "fulfilment.recorded",
        {
            "verdict": ref(f"status.{status}"),
            "date": record.date.isoformat(),
            "period": _period_clause(period),
            "summary": record.summary,
            "review": _review_clause(record),
            "evidence": _evidence_names(record),
        },
        item,
        decides=status,
    )


def single_fulfilment(commitment: CommitmentInput, as_of: dt.date, due: dt.date | None) -> list[Reason]:
    """The fulfilment record of a commitment that does not recur."""
    record = next((f for f in commitment.fulfilments if f.period_start is None), None)
    return [fulfilment(commitment, record, as_of, due)] if record is not None else []


# 3. Deadline -----------------------------------------------------------------------------------------


def due_date(commitment: CommitmentInput) -> tuple[dt.date | None, str]:
    """The commitment's own due date, else the TK datumNakoming."""
    if commitment.due_date is not None:
        return commitment.due_date, "commitment"
    tk = commitment.tk
    if tk is not None and not tk.removed and tk.datum_nakoming is not None:
        return tk.datum_nakoming, "tk_datum_nakoming"
    return None, "none"


def schedule_of(
    commitment: CommitmentInput,
    due: dt.date | None,
    origin: str,
    as_of: dt.date,
    thresholds: Thresholds,
    *,
    closed: bool,
) -> tuple[Schedule, list[Reason]]:
    """Passed due date and not closed -> off_track + overdue; within due_soon_days -> due_soon.
    A closed commitment has nothing more due."""
    if due is None:
        return Schedule.no_deadline, []
    if closed:
        return Schedule.on_time, []
    evidence = (ev.due_date(commitment.id, due, origin),)
    label = ref(f"label.{origin}")
    days = (due - as_of).days
    if days < 0:
        return Schedule.overdue, [
            Reason(
                Rule.deadline,
                Severity.critical,
                "deadline.passed",
                {"label": label, "date": due.isoformat()},
                evidence,
            )
        ]
    if days <= thresholds.due_soon_days:
        # No day counts in messages: reasons must not change every night, or history fills with noise.
        return Schedule.due_soon, [
            Reason(
                Rule.deadline,
                Severity.info,
                "deadline.soon",
                {"label": label, "date": due.isoformat(), "days": thresholds.due_soon_days},
                evidence,
            )
        ]
    return Schedule.on_time, []


def deadline(
    commitment: CommitmentInput, as_of: dt.date, thresholds: Thresholds, *, closed: bool
) -> tuple[Schedule, list[Reason]]:
    due, origin = due_date(commitment)
    return schedule_of(commitment, due, origin, as_of, thresholds, closed=closed)


def due_soon_without_progress(schedule: Schedule, reasons: list[Reason]) -> list[Reason]:
    """Something falls due soon and nothing shows progress -> at_risk."""
    if schedule != Schedule.due_soon or any(r.severity != Severity.info for r in reasons):
        return []
    return [Reason(Rule.deadline, Severity.warning, "deadline.no_progress")]


# 4. Recurrence ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecurrenceResult:
    schedule: Schedule
    reasons: list[Reason]
    decides: Status | None  # fulfilled when the series has ended and every period was kept
    current: Period | None


def recurrence(commitment: CommitmentInput, as_of: dt.date, thresholds: Thresholds) -> RecurrenceResult:
    """Each period has its own deadline and its own fulfilment record. The schedule is the current period's;
    every past period without a (not rejected) record is a critical reason; a series that has ended with
    every period kept is fulfilled."""
    rec = commitment.recurrence
    assert rec is not None
    if as_of < rec.start:
        return RecurrenceResult(Schedule.on_time, [], None, None)
    series = periods(rec.unit, rec.start, as_of, commitment.due_date)
    if not series:  # the series ended before it began (a due date before the start): nothing is due
        return RecurrenceResult(Schedule.no_deadline, [], None, None)
    records = {f.period_start: f for f in commitment.fulfilments if f.period_start is not None}
    reasons: list[Reason] = []
    missed: list[Period] = []
    for item in series:
        record = records.get(item.start)
        if record is not None:
            reasons.append(fulfilment(commitment, record, as_of, item.end, item))
        if item.end < as_of and (record is None or record.review == "rejected"):
            missed.append(item)
    kept_past = [p for p in series if p.end < as_of]
    current = series[-1] if series and series[-1].end >= as_of else None
    ended = current is None and commitment.due_date is not None and commitment.due_date < as_of
    if missed:
        reasons.append(
            Reason(
                Rule.recurrence,
                Severity.critical,
                "recurrence.missed",
                {
                    "count": len(missed),
                    "total": len(kept_past),
                    "periods": [
                        nested("period.range", start=p.start.isoformat(), end=p.end.isoformat())
                        for p in missed[-12:]
                    ],
                },
                tuple(ev.period(commitment.id, p.start, p.end, False) for p in missed[-12:]),
            )
        )
    decides = None
    if ended and not missed and series:
        decides = Status.fulfilled
        reasons.append(
            Reason(
                Rule.recurrence,
                Severity.authoritative,
                "recurrence.all_done",
                {"total": len(series), "date": series[-1].end.isoformat()},
                (),
                Status.fulfilled,
            )
        )
    elif kept_past and not missed:
        reasons.append(
            Reason(Rule.recurrence, Severity.progress, "recurrence.kept", {"total": len(kept_past)})
        )
    # Per-period records decide only their period: the commitment's status comes from the series.
    reasons = [r if r.decides is None or r.rule == Rule.recurrence else _without_decision(r) for r in reasons]
    if current is None:
        return RecurrenceResult(Schedule.on_time if decides else Schedule.overdue, reasons, decides, None)
    record = records.get(current.start)
    if record is not None and record.review != "rejected":
        return RecurrenceResult(Schedule.on_time, reasons, decides, current)
    schedule, deadline_reasons = schedule_of(
        commitment, current.end, "period", as_of, thresholds, closed=False
    )
    return RecurrenceResult(schedule, reasons + deadline_reasons, decides, current)


def _without_decision(reason: Reason) -> Reason:
    return Reason(reason.rule, Severity.progress, reason.code, reason.params, reason.evidence)


# 5. Milestones ---------------------------------------------------------------------------------------


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
            raise ValueError(
                f"milestone {milestone.id}: measurements summarised up to {milestone.summary.upto}, "
                f"evaluated as of {as_of}"
            )
        return milestone.summary
    return summary_of(milestone, [p for p in milestone.measurements if p.date <= as_of], as_of)


def summary_of(
    milestone: MilestoneInput, points: Iterable[MeasurementInput], upto: dt.date
) -> MeasurementSummary:
    """What the database computes per milestone in a full run (shared/status/loaders.py), from the points."""
    series: dict[dt.date, MeasurementInput] = {point.date: point for point in sorted(points)}  # one per date
    if not series:
        return MeasurementSummary(upto)
    due = milestone.due_date
    sx = sxx = 0
    sy = sxy = 0.0
    for day, point in series.items():
        x = (day - due).days
        sx += x
        sxx += x * x
        sy += point.value
        sxy += x * point.value
    latest = series[max(series)]
    by_due = [p for d, p in series.items() if d <= due]
    on_due = by_due[-1] if by_due else None
    late = None
    if milestone.target_value is not None:
        late = next((p for d, p in series.items() if d > due and _meets(milestone, p.value)), None)
    return MeasurementSummary(
        upto,
        len(series),
        latest.date,
        latest.value,
        sx,
        sxx,
        sy,
        sxy,
        latest.id,
        on_due.date if on_due else None,
        on_due.value if on_due else None,
        on_due.id if on_due else None,
        late.date if late else None,
        late.value if late else None,
        late.id if late else None,
    )


def projected_from(milestone: MilestoneInput, summary: MeasurementSummary) -> float | None:
    """The least-squares line through the summarised measurements, read off at the due date (x = 0); with a
    single measurement the line from the baseline to it (None when there is no second point).

    From the sums alone: slope = (n Sxy - Sx Sy) / (n Sxx - Sx^2), value at x = 0 = (Sy - slope Sx) / n.
    The denominator is an exact integer, so a series of distinct dates never divides by zero.
    """
    n, sx, sxx, sy, sxy = summary.n, summary.sx, summary.sxx, summary.sy, summary.sxy
    if (
        n == 1
        and milestone.baseline_value is not None
        and milestone.baseline_date is not None
        and milestone.baseline_date != summary.latest_date
    ):
        x = (milestone.baseline_date - milestone.due_date).days
        n, sx, sxx, sy, sxy = (
            2,
            sx + x,
            sxx + x * x,
            sy + milestone.baseline_value,
            sxy + x * milestone.baseline_value,
        )
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
    return projected_from(milestone, summary_of(milestone, points, milestone.due_date))


def _m_evidence(milestone: MilestoneInput, **extra: Any) -> dict[str, Any]:
    return ev.milestone(
        milestone.id,
        milestone.due_date,
        milestone.target_value,
        reached_on=milestone.reached_on,
        items=milestone.evidence,
        **extra,
    )


def _point(milestone: MilestoneInput, day: dt.date, value: float, measurement_id: Any) -> dict[str, Any]:
    return ev.measurement(milestone.id, measurement_id, day, value)


def _late(milestone: MilestoneInput, day: dt.date) -> Any:
    return nested("milestone.late", due=milestone.due_date.isoformat()) if day > milestone.due_date else ""


def milestone(milestone: MilestoneInput, as_of: dt.date) -> tuple[MilestoneStatus, list[Reason]]:
    """Recorded as reached -> met. Numeric: the latest measurement on or before the due date reaching the target
    (in the indicator's direction) -> met, also after the due date; a later one reaching it -> met, late.
    Before the due date: latest measurement against the baseline-to-target line and the trend projected to
    the due date (a projected miss -> at_risk). A passed due date without any of that -> missed."""
    base = {"title": milestone.title, "due": milestone.due_date.isoformat()}
    if milestone.reached_on is not None and milestone.reached_on <= as_of:
        return MilestoneStatus.met, [
            Reason(
                Rule.milestone,
                Severity.progress,
                "milestone.reached",
                {
                    **base,
                    "date": milestone.reached_on.isoformat(),
                    "late": _late(milestone, milestone.reached_on),
                },
                (_m_evidence(milestone),),
            )
        ]
    if milestone.target_value is None:
        if as_of <= milestone.due_date:
            return MilestoneStatus.pending, [
                Reason(
                    Rule.milestone,
                    Severity.info,
                    "milestone.pending_qualitative",
                    base,
                    (_m_evidence(milestone),),
                )
            ]
        return MilestoneStatus.missed, [
            Reason(
                Rule.milestone,
                Severity.critical,
                "milestone.missed_qualitative",
                base,
                (_m_evidence(milestone),),
            )
        ]
    base["target"] = fmt(milestone.target_value)
    summary = summarise(milestone, as_of)
    for day, value, mid in (
        (summary.due_date, summary.due_value, summary.due_id),
        (summary.late_date, summary.late_value, summary.late_id),
    ):
        if day is not None and value is not None and _meets(milestone, value):
            return MilestoneStatus.met, [
                Reason(
                    Rule.milestone,
                    Severity.progress,
                    "milestone.met",
                    {**base, "value": fmt(value), "date": day.isoformat(), "late": _late(milestone, day)},
                    (_m_evidence(milestone), _point(milestone, day, value, mid)),
                )
            ]
    if as_of > milestone.due_date:
        if summary.n == 0:
            return MilestoneStatus.missed, [
                Reason(
                    Rule.milestone,
                    Severity.critical,
                    "milestone.missed_unmeasured",
                    base,
                    (_m_evidence(milestone),),
                )
            ]
        assert summary.latest_date is not None and summary.latest_value is not None
        return MilestoneStatus.missed, [
            Reason(
                Rule.milestone,
                Severity.critical,
                "milestone.missed_short",
                {**base, "value": fmt(summary.latest_value), "date": summary.latest_date.isoformat()},
                (
                    _m_evidence(milestone),
                    _point(milestone, summary.latest_date, summary.latest_value, summary.latest_id),
                ),
            )
        ]
    if summary.n == 0:
        return MilestoneStatus.pending, [
            Reason(Rule.milestone, Severity.info, "milestone.unmeasured", base, (_m_evidence(milestone),))
        ]
    assert summary.latest_date is not None and summary.latest_value is not None
    latest_date, latest_value = summary.latest_date, summary.latest_value
    planned = planned_value(milestone, latest_date)
    projected = projected_from(milestone, summary)
    evidence = (
        _m_evidence(milestone, planned_value=planned, projected_value=projected),
        _point(milestone, latest_date, latest_value, summary.latest_id),
    )
    params = {
        **base,
        "value": fmt(latest_value),
        "date": latest_date.isoformat(),
        "planned": nested("milestone.planned", planned=fmt(planned)) if planned is not None else "",
    }
    if projected is not None:
        params["projected"] = fmt(projected)
        if not _meets(milestone, projected):
            return MilestoneStatus.at_risk, [
                Reason(Rule.milestone, Severity.warning, "milestone.trend_short", params, evidence)
            ]
        return MilestoneStatus.on_track, [
            Reason(Rule.milestone, Severity.progress, "milestone.trend_ok", params, evidence)
        ]
    if planned is None:
        return MilestoneStatus.pending, [
            Reason(Rule.milestone, Severity.info, "milestone.one_point", params, evidence)
        ]
    if not _meets_line(milestone, latest_value, planned):
        return MilestoneStatus.at_risk, [
            Reason(Rule.milestone, Severity.warning, "milestone.behind_line", params, evidence)
        ]
    return MilestoneStatus.on_track, [
        Reason(Rule.milestone, Severity.progress, "milestone.on_line", params, evidence)
    ]


def _meets_line(milestone: MilestoneInput, value: float, planned: float) -> bool:
    return value <= planned if milestone.decreasing else value >= planned


# 6. Actions ------------------------------------------------------------------------------------------


def action(action: ActionInput, as_of: dt.date, thresholds: Thresholds) -> list[Reason]:
    """Blocked, or open without an update for stale_action_days -> at_risk; done or recently updated
    work -> evidence of progress."""
    last = action.last_update_date or action.created_date
    evidence = (ev.action(action.id, action.state, last),)
    title = {"title": action.title}
    if action.state == "blocked":
        return [Reason(Rule.action, Severity.warning, "action.blocked", title, evidence)]
    if action.state == "done":
        return [Reason(Rule.action, Severity.progress, "action.done", title, evidence)]
    if action.state not in ("planned", "in_progress") or last is None:
        return []
    idle = (as_of - last).days
    if idle > thresholds.stale_action_days:
        return [
            Reason(
                Rule.action,
                Severity.warning,
                "action.stale",
                {
                    **title,
                    "state": ref(f"state.{action.state}"),
                    "date": last.isoformat(),
                    "days": thresholds.stale_action_days,
                },
                evidence,
            )
        ]
    if action.state == "in_progress":
        return [
            Reason(
                Rule.action,
                Severity.progress,
                "action.in_progress",
                {**title, "date": last.isoformat()},
                evidence,
            )
        ]
    return []


# 7. Progress: fulfilment derived from milestones and actions ------------------------------------------


def progress(
    commitment: CommitmentInput,
    milestones: dict[str, MilestoneStatus],
    as_of: dt.date,
    due: dt.date | None,
    *,
    rejected: bool,
) -> list[Reason]:
    """At least one milestone, all met, every action done or cancelled -> fulfilled (actions alone never make a
    commitment fulfilled); some missed after the due date -> off_track, counting met and missed."""
    if not milestones:
        return []
    statuses = milestones.values()
    met = sum(1 for status in statuses if status == MilestoneStatus.met)
    missed = sum(1 for status in statuses if status == MilestoneStatus.missed)
    if met < len(milestones) and not (missed and due is not None and as_of > due):
        return []  # the common case: nothing to say, so no evidence is built
    items = tuple(
        ev.milestone(m.id, m.due_date, m.target_value, status=str(milestones[m.id]))
        for m in commitment.milestones
    ) + tuple(ev.action(a.id, a.state, a.last_update_date or a.created_date) for a in commitment.actions)
    counts = {"milestones": len(milestones), "actions": len(commitment.actions)}
    if met == len(milestones):
        unfinished = sum(1 for a in commitment.actions if a.state not in ("done", "cancelled"))
        if unfinished:
            return [
                Reason(
                    Rule.progress,
                    Severity.progress,
                    "progress.actions_open",
                    {**counts, "open": unfinished},
                    items,
                )
            ]
        if rejected:
            return [Reason(Rule.progress, Severity.info, "progress.rejected", {}, items)]
        return [
            Reason(Rule.progress, Severity.authoritative, "progress.derived", counts, items, Status.fulfilled)
        ]
    assert due is not None
    return [
        Reason(
            Rule.progress,
            Severity.critical,
            "progress.missed",
            {"date": due.isoformat(), "met": met, "missed": missed, "total": len(milestones)},
            items,
        )
    ]


# 8. Client signals -----------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _rise(
    recent: int, recent_days: int, baseline: int, baseline_days: int, alpha: float, min_count: int
) -> Any:
    # Many commitments share the same counts; the test itself is a pure function, so remember it.
    return poisson_rise(recent, recent_days, baseline, baseline_days, alpha=alpha, min_count=min_count)


def signals(commitment: CommitmentInput, thresholds: Thresholds) -> list[Reason]:
    """A significant rise of client signals (one-sided Poisson test, shared.stats.poisson_rise) -> at_risk."""
    counts = commitment.signals
    if counts is None:
        return []
    test = _rise(
        counts.recent,
        counts.recent_days,
        counts.baseline,
        counts.baseline_days,
        thresholds.signal_alpha,
        thresholds.signal_min_count,
    )
    if not test.significant:
        return []
    cell = thresholds.min_cell
    parties = [
        {
            "party_id": p.party_id,
            "path": f"/v1/parties/{p.party_id}",
            "recent": ev.suppressed(p.recent, cell),
            "baseline": ev.suppressed(p.baseline, cell),
        }
        for p in counts.parties
    ]
    linked = {
        "recent": ev.suppressed(counts.linked_recent, cell),
        "baseline": ev.suppressed(counts.linked_baseline, cell),
    }
    item = ev.signal_counts(
        commitment.id,
        counts.themes,
        counts.recent,
        counts.baseline,
        counts.recent_days,
        counts.baseline_days,
        test.expected,
        test.p_value,
        parties,
        linked,
        cell,
    )
    scope = (
        nested("signals.scope", themes=list(counts.themes)) if counts.themes else ref("signals.scope_linked")
    )
    return [
        Reason(
            Rule.signals,
            Severity.warning,
            "signals.rise",
            {
                "recent": counts.recent,
                "recent_days": counts.recent_days,
                "scope": scope,
                "expected": f"{test.expected:.1f}",
                "baseline_days": counts.baseline_days,
                "p_value": f"{test.p_value:.4f}",
            },
            (item,),
        )
    ]


# Override --------------------------------------------------------------------------------------------


def override_active(override: Any, as_of: dt.date) -> bool:
    """Active up to and including the (UTC) day of expires_at."""
    return override.expires_at is None or as_of <= override.expires_at.astimezone(dt.UTC).date()


def override(commitment: CommitmentInput, as_of: dt.date) -> list[Reason]:
    """A person's decision wins until it expires, and shows as a reason."""
    item = commitment.override
    if item is None:
        return []
    evidence = (
        ev.override(commitment.id, item.status, item.reason, item.expires_at, item.set_by, item.set_at),
    )
    until = item.expires_at.astimezone(dt.UTC).date().isoformat() if item.expires_at else None
    status = ref(f"status.{item.status}")
    if override_active(item, as_of):
        return [
            Reason(
                Rule.override,
                Severity.override,
                "override.active",
                {
                    "status": status,
                    "until": nested("override.until", date=until) if until else "",
                    "reason": item.reason,
                },
                evidence,
                decides=Status(item.status),
            )
        ]
    return [
        Reason(Rule.override, Severity.info, "override.expired", {"status": status, "date": until}, evidence)
    ]


# Nothing yet -----------------------------------------------------------------------------------------


def nothing_yet(commitment: CommitmentInput, schedule: Schedule) -> list[Reason]:
    """Every commitment has a reason: when no rule found anything, say that nothing is due or recorded."""
    code = "none.nothing_yet" if schedule == Schedule.no_deadline else "none.nothing_recorded"
    return [Reason(Rule.none, Severity.info, code, {}, (ev.commitment(commitment.id),))]
