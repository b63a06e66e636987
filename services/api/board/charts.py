"""A milestone's chart and a signal trend's chart, built from API responses.

The plan line and the trend are the status engine's own definitions (shared/status/rules.py): the straight
line from baseline to target, and the least-squares line through the measurements read off at a date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from services.api.board.i18n import Words
from shared.charts.svg import Bar, Line, LineChart, Marker, Point, render_bar_chart, render_line_chart
from shared.status.inputs import MeasurementInput, MilestoneInput
from shared.status.rules import projected_value


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def _value_at(milestone: MilestoneInput, points: list[MeasurementInput], day: dt.date) -> float | None:
    # The least-squares line does not depend on where x = 0 lies, so reading it "at the due date" of a
    # milestone due on `day` reads the same line at `day`.
    return projected_value(milestone._replace(due_date=day), points)


def milestone_chart(milestone: dict[str, Any], today: dt.date, t: Words) -> Markup | None:
    """The chart of a numeric milestone (None without an indicator)."""
    indicator = milestone.get("indicator")
    if not indicator:
        return None
    due = _day(milestone["due_date"])
    target = float(indicator["target_value"])
    base_value = indicator.get("baseline_value")
    base_date = _day(indicator["baseline_date"]) if indicator.get("baseline_date") else None
    points = sorted(
        MeasurementInput(_day(m["date"]), float(m["value"]), m["id"]) for m in milestone["measurements"]
    )
    model = MilestoneInput(
        id=milestone["id"],
        title=milestone["title"],
        due_date=due,
        target_value=target,
        baseline_value=base_value,
        baseline_date=base_date,
        decreasing=indicator.get("direction") == "decrease",
        measurements=tuple(points),
    )
    unit = indicator["unit"]
    chart = LineChart(title=t("chart.title", title=milestone["title"]), description="", y_unit=unit)
    if base_value is not None and base_date is not None:
        chart.lines.append(Line("plan", t("chart.plan"), ((base_date, base_value), (due, target))))
    trend_at_due = projected_value(model, points)
    if trend_at_due is not None:
        start = points[0].date if len(points) > 1 else base_date
        assert start is not None  # one point makes a trend only together with a dated baseline
        start_value = _value_at(model, points, start)
        assert start_value is not None
        chart.lines.append(Line("trend", t("chart.trend"), ((start, start_value), (due, trend_at_due))))
    chart.points.extend(
        Point(p.date, p.value, f"{t.date(p.date)}: {t.number(p.value)} {unit}") for p in points
    )
    chart.points.append(
        Point(due, target, t("chart.target", value=t.number(target), date=t.date(due)), "target")
    )
    chart.markers.append(Marker("due", due, f"{t('chart.due')} {t.date(due)}"))
    chart.markers.append(Marker("today", today, f"{t('chart.today')} {t.date(today)}"))
    chart.description = t(
        "chart.desc",
        n=len(points),
        unit=unit,
        target=t.number(target),
        due=t.date(due),
        baseline=t("chart.desc.baseline", value=t.number(base_value), date=t.date(base_date))
        if base_value is not None and base_date is not None
        else "",
        latest=t("chart.desc.latest", value=t.number(points[-1].value), date=t.date(points[-1].date))
        if points
        else "",
        trend=t("chart.desc.trend", value=t.number(trend_at_due)) if trend_at_due is not None else "",
    )
    return render_line_chart(chart, t.date)


def trend_chart(trend: dict[str, Any], what: str, t: Words) -> Markup:
    """Signals per month; a suppressed month is drawn hatched and says "<5", never a number under the
    minimum."""
    bars = [
        Bar(
            p["period"],
            None if p["suppressed"] else float(p["count"]),
            t("signals.withheld_bar") if p["count"] is None else str(p["count"]),
        )
        for p in trend["periods"]
    ]
    return render_bar_chart(
        t("signals.chart", what=what),
        t("signals.desc", n=len(bars), min=trend["min_cell"]),
        bars,
        suppressed_height=float(trend["min_cell"]),
    )
