"""Small inline-SVG charts for server-rendered pages: a dated line chart and a bar chart.

No JavaScript and no external assets: each chart is one <svg role="img"> with a <title> and a <desc> (its
accessible name and description) and a <title> on every data mark, so a screen reader and a mouse-over say the
same. Colour is never the only carrier: lines differ by dash pattern, suppressed bars by hatching and a label.
Callers pass already-localised strings; everything is escaped here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 24, 48
_ids = itertools.count(1)


@dataclass(frozen=True)
class Line:
    """A straight or broken line through dated points (`kind` is its CSS class: plan, trend, ...)."""

    kind: str
    label: str
    points: tuple[tuple[dt.date, float], ...]


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float
    label: str  # "1 maart 2026: 72,5 procent"
    kind: str = "measurement"


@dataclass(frozen=True)
class Marker:
    """A vertical line at a date (today, the due date) with a visible label."""

    kind: str
    day: dt.date
    label: str


@dataclass(frozen=True)
class Bar:
    label: str  # the period, shown under the bar
    value: float | None  # None: suppressed (drawn hatched, at the height of the suppression threshold)
    text: str  # what the bar says in words ("12", "<5")


@dataclass
class LineChart:
    title: str
    description: str
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    y_unit: str = ""


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while (
        ticks[-1] < high - step * 1e-9
    ):  # the last tick reaches the highest value: nothing is drawn off scale
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def number(value: float) -> str:
    """Whole numbers without decimals, others with at most two (the same in Dutch and English here)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def render_line_chart(chart: LineChart, format_day: Callable[[dt.date], str] = dt.date.isoformat) -> Markup:
    days = (
        [d for line in chart.lines for d, _ in line.points]
        + [p.day for p in chart.points]
        + [m.day for m in chart.markers]
    )
    values = [v for line in chart.lines for _, v in line.points] + [p.value for p in chart.points]
    if not days:
        raise ValueError("a line chart needs at least one dated item")
    first, last = min(days), max(days)
    if first == last:
        first, last = first - dt.timedelta(days=15), last + dt.timedelta(days=15)
    span = (last - first).days
    ticks = _nice_ticks(min([0.0, *values]), max([1.0, *values]))
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + plot_w * (day - first).days / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - (value - low) / (high - low)), 1)

    uid = next(_ids)
    out = [
        f'<svg class="chart line-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{uid}-t chart-{uid}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{uid}-t">{escape(chart.title)}</title>',
        f'<desc id="chart-{uid}-d">{escape(chart.description)}</desc>',
        '<g class="axis" aria-hidden="true">',
    ]
    for tick in ticks:
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick)}" y2="{y(tick)}"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4}" text-anchor="end">{escape(number(tick))}</text>'
        )
    out.append(
        f'<text x="{LEFT}" y="{HEIGHT - 8}" text-anchor="start">{escape(format_day(first))}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">{escape(format_day(last))}</text>'
    )
    if chart.y_unit:
        out.append(f'<text x="{LEFT}" y="{TOP - 6}" text-anchor="start">{escape(chart.y_unit)}</text>')
    out.append("</g>")
    for marker in chart.markers:
        anchor = "end" if x(marker.day) > WIDTH / 2 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(
            f'<g class="marker {marker.kind}"><title>{escape(marker.label)}</title>'
            f'<line x1="{x(marker.day)}" x2="{x(marker.day)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
            f'<text x="{x(marker.day) + dx}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}">'
            f"{escape(marker.label)}</text></g>"
        )
    for line in chart.lines:
        coords = " ".join(f"{x(d)},{y(v)}" for d, v in line.points)
        out.append(
            f'<polyline class="series {line.kind}" points="{coords}"><title>{escape(line.label)}</title>'
            f"</polyline>"
        )
    for point in chart.points:
        cx, cy = x(point.day), y(point.value)
        if point.kind == "target":  # a diamond: told apart from the measurements by shape, not colour
            out.append(
                f'<path class="point target" '
                f'd="M{cx},{cy - 7} L{cx + 7},{cy} L{cx},{cy + 7} L{cx - 7},{cy} Z">'
                f"<title>{escape(point.label)}</title></path>"
            )
        else:
            out.append(
                f'<circle class="point {point.kind}" cx="{cx}" cy="{cy}" r="4">'
                f"<title>{escape(point.label)}</title></circle>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def render_bar_chart(title: str, description: str, bars: list[Bar], *, suppressed_height: float) -> Markup:
    """Bars per period; a suppressed period is a hatched bar up to the threshold, labelled with its text."""
    values = [b.value for b in bars if b.value is not None]
    ticks = _nice_ticks(0.0, max([suppressed_height, 1.0, *values]))
    high = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / high), 1)

    uid = next(_ids)
    out = [
        f'<svg class="chart bar-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{uid}-t chart-{uid}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{uid}-t">{escape(title)}</title>',
        f'<desc id="chart-{uid}-d">{escape(description)}</desc>',
        f'<defs><pattern id="hatch-{uid}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>',
        '<g class="axis" aria-hidden="true">',
    ]
    for tick in ticks:
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick)}" y2="{y(tick)}"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4}" text-anchor="end">{escape(number(tick))}</text>'
        )
    out.append("</g>")
    for i, bar in enumerate(bars):
        left = round(LEFT + i * slot + slot * 0.15, 1)
        width = round(slot * 0.7, 1)
        top = y(suppressed_height if bar.value is None else bar.value)
        centre = round(left + width / 2, 1)
        kind = "suppressed" if bar.value is None else "count"
        fill = f' fill="url(#hatch-{uid})"' if bar.value is None else ""
        out.append(
            f'<g class="bar {kind}"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
            f'<rect x="{left}" y="{top}" width="{width}" height="{round(HEIGHT - BOTTOM - top, 1)}"{fill}/>'
            f'<text class="value" x="{centre}" y="{top - 4}" text-anchor="middle">{escape(bar.text)}</text>'
            f'<text class="period" x="{centre}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(bar.label)}</text></g>"
        )
    out.append("</svg>")
    return Markup("".join(out))
