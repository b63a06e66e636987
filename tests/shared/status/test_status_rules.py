"""Table-driven tests, one table per rule (pure functions: no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.status import rules
from shared.status.inputs import (
    ActionInput,
    CommitmentInput,
    MeasurementInput,
    MeasurementSummary,
    MilestoneInput,
    OverrideInput,
    SignalCounts,
    Thresholds,
    TkDocumentInput,
    TkInput,
)
from shared.status.messages import render
from shared.status.vocabulary import MilestoneStatus, Schedule, Severity, Status

D = dt.date
AS_OF = D(2026, 11, 23)
T = Thresholds()
LETTER = TkDocumentInput(
    id="doc-1", nummer="2026D41234", titel="Nakoming toezegging ADL", datum=D(2026, 10, 1)
)


def tk(status: str | None, **kw) -> CommitmentInput:
    return CommitmentInput(id="c", tk=TkInput(nummer="TZ202511-041", status=status, **kw))


@pytest.mark.parametrize(
    ("raw", "severity", "decides"),
    [
        ("Voldaan", Severity.authoritative, Status.fulfilled),
        ("voldaan", Severity.authoritative, Status.fulfilled),
        ("Deels Voldaan", Severity.authoritative, Status.partially_fulfilled),
        ("DEELS  voldaan", Severity.authoritative, Status.partially_fulfilled),
        ("deels voldaan", Severity.authoritative, Status.partially_fulfilled),
        ("Vervallen", Severity.authoritative, Status.lapsed),
        ("Openstaand", Severity.info, None),
        ("In behandeling bij de commissie", Severity.info, Status.unknown),
        ("", Severity.info, None),
        (None, Severity.info, None),
    ],
)
def test_tk_link(raw: str | None, severity: Severity, decides: Status | None) -> None:
    [reason] = rules.tk_link(tk(raw))
    assert reason.rule == "tk_link"
    assert (reason.severity, reason.decides) == (severity, decides)
    if decides == Status.unknown:
        assert reason.code == "tk.unreadable" and raw in reason.message


def test_tk_fulfilled_has_the_letter_as_evidence() -> None:
    [reason] = rules.tk_link(tk("Voldaan", fulfilment_letter=LETTER))
    assert {
        "type": "tk_document",
        "id": "doc-1",
        "path": "/v1/tk/documents/doc-1",
        "nummer": "2026D41234",
        "titel": "Nakoming toezegging ADL",
        "datum": "2026-10-01",
        "sample": False,
    } in reason.evidence
    assert "2026D41234" in reason.message and "1 oktober 2026" in reason.message


def test_tk_removed_or_missing_decides_nothing() -> None:
    [removed] = rules.tk_link(tk("Voldaan", removed=True))
    assert removed.severity == Severity.info and removed.decides is None
    [missing] = rules.tk_link(CommitmentInput(id="c", tk_toezegging_nummer="TZ202511-041"))
    assert missing.severity == Severity.info and missing.code == "tk.not_mirrored"
    assert rules.tk_link(CommitmentInput(id="c")) == []


@pytest.mark.parametrize(
    ("due", "tk_due", "closed", "schedule", "severity"),
    [
        (None, None, False, Schedule.no_deadline, None),
        (D(2026, 11, 22), None, False, Schedule.overdue, Severity.critical),
        (None, D(2026, 1, 1), False, Schedule.overdue, Severity.critical),  # TK datumNakoming as fallback
        (D(2027, 1, 1), D(2026, 1, 1), False, Schedule.on_time, None),  # own date wins
        (D(2026, 11, 23), None, False, Schedule.due_soon, Severity.info),  # due today is not yet overdue
        (D(2026, 12, 23), None, False, Schedule.due_soon, Severity.info),  # 30 days
        (D(2026, 12, 24), None, False, Schedule.on_time, None),  # 31 days
        (D(2026, 1, 1), None, True, Schedule.on_time, None),  # closed: nothing more due
    ],
)
def test_deadline(due, tk_due, closed, schedule, severity) -> None:
    commitment = CommitmentInput(
        id="c",
        due_date=due,
        tk=TkInput("TZ202511-041", "Openstaand", datum_nakoming=tk_due) if tk_due else None,
    )
    got, reasons = rules.deadline(commitment, AS_OF, T, closed=closed)
    assert got == schedule
    assert [r.severity for r in reasons] == ([severity] if severity else [])


def test_due_soon_days_is_a_threshold() -> None:
    commitment = CommitmentInput(id="c", due_date=D(2026, 12, 10))
    assert (
        rules.deadline(commitment, AS_OF, Thresholds(due_soon_days=10), closed=False)[0] == Schedule.on_time
    )
    assert (
        rules.deadline(commitment, AS_OF, Thresholds(due_soon_days=17), closed=False)[0] == Schedule.due_soon
    )


def ms(
    *points: tuple[dt.date, float],
    due=D(2026, 7, 1),
    target=100.0,
    base=60.0,
    base_date=D(2025, 10, 1),
    decreasing=False,
) -> MilestoneInput:
    return MilestoneInput(
        id="m",
        title="Alle ADL-assistenten in loondienst",
        due_date=due,
        target_value=target,
        baseline_value=base,
        baseline_date=base_date,
        decreasing=decreasing,
        measurements=tuple(MeasurementInput(d, v, f"p{i}") for i, (d, v) in enumerate(points)),
    )


@pytest.mark.parametrize(
    ("milestone", "as_of", "status", "severity"),
    [
        # The Fokus example: due 2026-07-01, no measurement, evaluated 2026-11-23 -> missed, never on track.
        (ms(), D(2026, 11, 23), MilestoneStatus.missed, Severity.critical),
        (ms((D(2026, 6, 1), 90)), D(2026, 11, 23), MilestoneStatus.missed, Severity.critical),
        (ms((D(2026, 6, 1), 100)), D(2026, 11, 23), MilestoneStatus.met, Severity.progress),
        (ms((D(2026, 8, 1), 100)), D(2026, 11, 23), MilestoneStatus.met, Severity.progress),  # late, but met
        (ms(), D(2026, 3, 1), MilestoneStatus.pending, Severity.info),
        # on the line (60 -> 100 over 273 days; 2026-03-01 is day 151: 82.1 planned), trend meets the target
        (ms((D(2026, 3, 1), 83)), D(2026, 3, 2), MilestoneStatus.on_track, Severity.progress),
        # behind: trend through baseline and 65 on 2026-03-01 reaches ~69 by July
        (ms((D(2026, 3, 1), 65)), D(2026, 3, 2), MilestoneStatus.at_risk, Severity.warning),
        # ahead of the line early but flattening: projection misses -> at_risk
        (
            ms((D(2025, 12, 1), 85), (D(2026, 2, 1), 86), (D(2026, 4, 1), 86)),
            D(2026, 4, 2),
            MilestoneStatus.at_risk,
            Severity.warning,
        ),
        # measurements after as_of are not seen
        (ms((D(2026, 6, 1), 100)), D(2026, 5, 1), MilestoneStatus.pending, Severity.info),
        # decreasing indicator: waiting list 500 -> 100
        (
            ms((D(2026, 3, 1), 250), target=100, base=500, decreasing=True),
            D(2026, 3, 2),
            MilestoneStatus.on_track,
            Severity.progress,
        ),
        (
            ms((D(2026, 3, 1), 480), target=100, base=500, decreasing=True),
            D(2026, 3, 2),
            MilestoneStatus.at_risk,
            Severity.warning,
        ),
        # no baseline, one measurement: no trend yet
        (
            ms((D(2026, 3, 1), 70), base=None, base_date=None),
            D(2026, 3, 2),
            MilestoneStatus.pending,
            Severity.info,
        ),
    ],
)
def test_milestone(milestone, as_of, status, severity) -> None:
    got, reasons = rules.milestone(milestone, as_of)
    assert got == status
    assert [r.severity for r in reasons] == [severity]


def test_milestone_without_indicator() -> None:
    """Reached on a date -> met (late says so); past its date without that -> missed; before it -> pending."""
    plain = MilestoneInput(id="m", title="Plan klaar", due_date=D(2026, 7, 1))
    status, [reason] = rules.milestone(plain, D(2026, 6, 1))
    assert (status, reason.severity, reason.code) == (
        MilestoneStatus.pending,
        Severity.info,
        "milestone.pending_qualitative",
    )
    status, [reason] = rules.milestone(plain, D(2026, 11, 23))
    assert (status, reason.severity) == (MilestoneStatus.missed, Severity.critical)
    reached = plain._replace(reached_on=D(2026, 6, 20), evidence=({"url": "https://example.org/plan.pdf"},))
    status, [reason] = rules.milestone(reached, D(2026, 11, 23))
    assert (status, reason.severity, reason.params["late"]) == (MilestoneStatus.met, Severity.progress, "")
    assert reason.evidence[0]["items"] == [{"url": "https://example.org/plan.pdf"}]
    late = plain._replace(reached_on=D(2026, 8, 1))
    status, [reason] = rules.milestone(late, D(2026, 11, 23))
    assert status == MilestoneStatus.met and "na de geplande datum 1 juli 2026" in reason.message
    assert rules.milestone(late, D(2026, 7, 15))[0] == MilestoneStatus.missed  # not reached yet on that day


def test_numeric_milestone_met_by_its_due_date_stays_met() -> None:
    """The latest measurement on or before the due date decides (in the indicator's direction); a later dip does
    not undo it, and a later measurement reaching the target is met, late."""
    zzp = MilestoneInput(
        id="m",
        title="Geen zzp'ers meer",
        due_date=D(2026, 7, 1),
        target_value=0,
        baseline_value=40,
        baseline_date=D(2025, 10, 1),
        decreasing=True,
        measurements=(MeasurementInput(D(2026, 6, 30), 0, "x1"), MeasurementInput(D(2026, 9, 1), 3)),
    )
    status, [reason] = rules.milestone(zzp, D(2026, 11, 23))
    assert status == MilestoneStatus.met and reason.evidence[1]["id"] == "x1"
    short = zzp._replace(
        measurements=(MeasurementInput(D(2026, 6, 30), 5), MeasurementInput(D(2026, 9, 1), 0, "x2"))
    )
    status, [reason] = rules.milestone(short, D(2026, 11, 23))
    assert status == MilestoneStatus.met and reason.params["late"] and reason.evidence[1]["id"] == "x2"
    assert rules.milestone(short, D(2026, 8, 1))[0] == MilestoneStatus.missed
    rising = zzp._replace(
        target_value=100,
        baseline_value=60,
        decreasing=False,
        measurements=(MeasurementInput(D(2026, 6, 30), 99),),
    )
    assert rules.milestone(rising, D(2026, 11, 23))[0] == MilestoneStatus.missed


def test_projection_is_least_squares() -> None:
    milestone = ms(
        (D(2025, 10, 11), 61),
        (D(2025, 10, 21), 62),
        base=60,
        base_date=D(2025, 10, 1),
        due=D(2025, 11, 30),
        target=70,
    )
    assert rules.projected_value(milestone, list(milestone.measurements)) == pytest.approx(66.0)
    assert rules.planned_value(milestone, D(2025, 10, 31)) == pytest.approx(65.0)


def _point_fit(milestone: MilestoneInput, points: list[MeasurementInput]) -> float | None:
    """The least-squares projection computed from the points themselves (centred, days from the first date):
    the reference the sums-based fit must equal."""
    series = {p.date: p.value for p in sorted(points)}
    if len(series) == 1 and milestone.baseline_value is not None and milestone.baseline_date is not None:
        series.setdefault(milestone.baseline_date, milestone.baseline_value)
    if len(series) < 2:
        return None
    origin = min(series)
    xs = [(d - origin).days for d in series]
    ys = list(series.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    return mean_y + slope * ((milestone.due_date - origin).days - mean_x)


fit_dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31))
fit_values = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    points=st.lists(st.tuples(fit_dates, fit_values), max_size=12),
    due=fit_dates,
    base=st.none() | fit_values,
    base_date=st.none() | fit_dates,
)
def test_sums_based_fit_equals_point_based_fit(points, due, base, base_date) -> None:
    milestone = ms(*points, due=due, base=base, base_date=base_date)
    expected = _point_fit(milestone, list(milestone.measurements))
    got = rules.projected_from(milestone, rules.summarise(milestone, D(2031, 1, 1)))
    assert rules.projected_value(milestone, list(milestone.measurements)) == got
    if expected is None:
        assert got is None
    else:
        # Floating point only: both are the same least-squares line; the tolerance scales with the values and
        # with how far the line is extrapolated (days from the measurements to the due date, in spans).
        ys = [v for _, v in points] + ([base] if base is not None else [])
        dates = [d for d, _ in points] + ([base_date] if base_date is not None else [])
        span = max(1, (max(dates) - min(dates)).days)
        reach = 1 + max(abs((due - d).days) for d in dates) / span
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9 * (1 + max(abs(y) for y in ys)) * reach**2)


def test_sums_fit_of_a_known_line() -> None:
    # y = 40 + 0.1 * day since 2026-01-01: the fit is exact, read off at the due date.
    milestone = ms(
        *[(D(2026, 1, 1) + dt.timedelta(days=d), 40 + 0.1 * d) for d in (3, 10, 50, 120)],
        due=D(2026, 12, 31),
        target=100.0,
    )
    summary = rules.summarise(milestone, AS_OF)
    assert (summary.n, summary.latest_date, summary.latest_value) == (4, D(2026, 5, 1), pytest.approx(52.0))
    assert rules.projected_from(milestone, summary) == pytest.approx(40 + 0.1 * 364)


def test_summary_is_only_valid_for_its_date() -> None:
    milestone = ms((D(2026, 3, 1), 83))
    summarised = milestone._replace(measurements=(), summary=rules.summarise(milestone, D(2026, 3, 2)))
    assert rules.milestone(summarised, D(2026, 3, 2)) == rules.milestone(milestone, D(2026, 3, 2))
    with pytest.raises(ValueError):
        rules.milestone(summarised, D(2026, 3, 3))


@settings(max_examples=200, deadline=None)
@given(
    points=st.lists(st.tuples(fit_dates, fit_values), max_size=6, unique_by=lambda p: p[0]),
    due=fit_dates,
    target=fit_values,
    base=st.none() | fit_values,
    base_date=st.none() | fit_dates,
    decreasing=st.booleans(),
    as_of=fit_dates,
)
def test_milestone_rule_from_a_summary_equals_from_points(
    points, due, target, base, base_date, decreasing, as_of
) -> None:
    milestone = ms(*points, due=due, target=target, base=base, base_date=base_date, decreasing=decreasing)
    summary = rules.summarise(milestone, as_of)
    assert isinstance(summary, MeasurementSummary) and summary.n == len([p for p in points if p[0] <= as_of])
    summarised = milestone._replace(measurements=(), summary=summary)
    assert rules.milestone(summarised, as_of) == rules.milestone(milestone, as_of)


@pytest.mark.parametrize(
    ("state", "last", "severity"),
    [
        ("blocked", D(2026, 11, 1), Severity.warning),
        ("in_progress", D(2026, 11, 1), Severity.progress),
        ("in_progress", D(2026, 8, 25), Severity.progress),  # 90 days: not yet stale
        ("in_progress", D(2026, 8, 24), Severity.warning),  # 91 days
        ("planned", D(2026, 1, 1), Severity.warning),
        ("planned", D(2026, 11, 1), None),
        ("done", D(2020, 1, 1), Severity.progress),
        ("cancelled", D(2020, 1, 1), None),
    ],
)
def test_action(state: str, last: dt.date, severity: Severity | None) -> None:
    reasons = rules.action(ActionInput(id="a", title="Werving", state=state, last_update_date=last), AS_OF, T)
    assert [r.severity for r in reasons] == ([severity] if severity else [])


def test_action_without_update_falls_back_to_its_creation() -> None:
    action = ActionInput(id="a", title="Werving", state="in_progress", created_date=D(2026, 1, 1))
    [reason] = rules.action(action, AS_OF, T)
    assert reason.severity == Severity.warning and "1 januari 2026" in reason.message
    assert rules.action(action, AS_OF, Thresholds(stale_action_days=400))[0].severity == Severity.progress


@pytest.mark.parametrize(
    ("recent", "baseline", "fires"),
    [
        (12, 12, True),  # 12 in 30 days against 2 expected
        (6, 36, False),  # steady rate
        (4, 0, False),  # fewer than 5
        (5, 0, True),  # a first burst against the 0.5-signal floor
        (0, 0, False),
    ],
)
def test_signals(recent: int, baseline: int, fires: bool) -> None:
    commitment = CommitmentInput(
        id="c", signals=SignalCounts(recent, baseline, themes=("sociale-veiligheid",))
    )
    reasons = rules.signals(commitment, T)
    assert bool(reasons) == fires
    if fires:
        evidence = reasons[0].evidence[0]
        assert (evidence["recent"], evidence["baseline"]) == (recent, baseline)
        assert reasons[0].severity == Severity.warning


@pytest.mark.parametrize(
    ("expires", "active"),
    [
        (dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC), True),  # through the day of expiry
        (dt.datetime(2026, 11, 22, 23, tzinfo=dt.UTC), False),
        (None, True),
    ],
)
def test_override(expires, active) -> None:
    commitment = CommitmentInput(
        id="c", override=OverrideInput("on_track", "Brief bevestigt planning", expires)
    )
    [reason] = rules.override(commitment, AS_OF)
    assert (reason.severity == Severity.override) == active
    assert reason.decides == (Status.on_track if active else None)


def test_tk_every_letter_is_evidence_and_sample_data_says_so() -> None:
    second = TkDocumentInput(id="doc-2", nummer="2026D50000", titel="Tweede brief", datum=D(2026, 11, 1))
    [reason] = rules.tk_link(tk("Voldaan", fulfilment_letter=LETTER, fulfilment_letters=(LETTER, second)))
    letters = [e["nummer"] for e in reason.evidence if e["type"] == "tk_document"]
    assert letters == ["2026D41234", "2026D50000"] and "2026D50000" in reason.message
    assert "voorbeeldgegevens" not in reason.message
    sample = TkDocumentInput(id="doc-s", nummer="2026D00001", sample=True)
    [reason] = rules.tk_link(tk("Voldaan", fulfilment_letters=(sample,), sample=True))
    assert "voorbeeldgegevens" in reason.message and "sample data" in render(reason.code, reason.params, "en")
    assert all(e["sample"] for e in reason.evidence)
