"""The SVG chart module on its own: marks per data point, accessible names, escaping, suppressed bars."""

from __future__ import annotations

import datetime as dt

import lxml.etree
import pytest

from shared.charts.svg import Bar, Line, LineChart, Marker, Point, render_bar_chart, render_line_chart

D = dt.date


def parse(markup: str) -> lxml.etree._Element:
    return lxml.etree.fromstring(str(markup).encode())


NS = {"s": "http://www.w3.org/2000/svg"}


def test_line_chart_has_one_mark_per_point_and_named_lines() -> None:
    chart = LineChart(title="Verloop <b>'x'</b>", description="3 metingen & een doel", y_unit="%")
    chart.lines.append(Line("plan", "plan", ((D(2026, 1, 1), 40.0), (D(2026, 7, 1), 100.0))))
    chart.lines.append(Line("trend", "trend", ((D(2026, 2, 1), 45.0), (D(2026, 7, 1), 80.0))))
    chart.points.extend(Point(D(2026, m, 1), 40.0 + m, f"p{m}") for m in (2, 3, 4))
    chart.points.append(Point(D(2026, 7, 1), 100.0, "doel", "target"))
    chart.markers.append(Marker("today", D(2026, 5, 1), "vandaag"))
    svg = parse(render_line_chart(chart))
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert (
        svg.find("s:title", NS).get("id") == title_id and svg.find("s:title", NS).text == "Verloop <b>'x'</b>"
    )
    assert svg.find("s:desc", NS).get("id") == desc_id
    assert len(svg.findall(".//s:circle", NS)) == 3
    assert [p.get("class") for p in svg.findall(".//s:polyline", NS)] == ["series plan", "series trend"]
    assert len(svg.findall(".//s:path", NS)) == 1
    assert [c.find("s:title", NS).text for c in svg.findall(".//s:circle", NS)] == ["p2", "p3", "p4"]
    xs = [float(c.get("cx")) for c in svg.findall(".//s:circle", NS)]
    assert xs == sorted(xs) and len(set(xs)) == 3
    # Higher values are drawn higher (smaller y).
    ys = [float(c.get("cy")) for c in svg.findall(".//s:circle", NS)]
    assert ys == sorted(ys, reverse=True)


def test_line_chart_needs_a_date_and_handles_a_single_day() -> None:
    with pytest.raises(ValueError):
        render_line_chart(LineChart(title="t", description="d"))
    one = LineChart(title="t", description="d", points=[Point(D(2026, 1, 1), 5.0, "p")])
    assert len(parse(render_line_chart(one)).findall(".//s:circle", NS)) == 1


def test_bar_chart_draws_suppressed_periods_hatched_without_their_number() -> None:
    bars = [Bar("2026-01", 12.0, "12"), Bar("2026-02", None, "<5"), Bar("2026-03", 0.0, "0")]
    svg = parse(render_bar_chart("Signalen", "drie maanden", bars, suppressed_height=5.0))
    groups = svg.findall(".//s:g", NS)
    kinds = [g.get("class") for g in groups if "bar" in (g.get("class") or "")]
    assert kinds == ["bar count", "bar suppressed", "bar count"]
    suppressed = next(g for g in groups if g.get("class") == "bar suppressed")
    assert suppressed.find("s:rect", NS).get("fill", "").startswith("url(#hatch-")
    assert [t.text for t in suppressed.findall("s:text", NS)] == ["<5", "2026-02"]
    heights = [float(g.find("s:rect", NS).get("height")) for g in groups if "bar" in (g.get("class") or "")]
    assert heights[0] > heights[1] > heights[2] == 0


def test_every_value_lies_within_the_scale() -> None:
    from shared.charts.svg import BOTTOM, HEIGHT, TOP, _nice_ticks

    for low, high in ((0.0, 70.0), (0.0, 1.0), (0.0, 100.0), (-3.0, 7.5), (0.0, 900.0), (0.0, 0.3)):
        ticks = _nice_ticks(low, high)
        assert ticks[0] <= low and ticks[-1] >= high, (low, high, ticks)
    chart = LineChart(
        title="t", description="d", points=[Point(D(2026, 1, 1), 70.0, "a"), Point(D(2026, 2, 1), 0.0, "b")]
    )
    ys = [float(c.get("cy")) for c in parse(render_line_chart(chart)).findall(".//s:circle", NS)]
    assert all(TOP <= y <= HEIGHT - BOTTOM for y in ys) and ys[0] < ys[1]
