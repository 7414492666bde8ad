"""The SVG charts: valid for any number of points, units, month order, escaping, text alternatives."""

from __future__ import annotations

from datetime import date

import pytest

from bridge.domain.values import DailyPoint, MonthlyPoint
from bridge.views import charts
from bridge.views.render import render_client_area
from tests.support.view_samples import GB, SVG, make_daily, make_view, parse_svg, text_of

# --- charts ---------------------------------------------------------------------------------------------------


def _chart(bars: list[charts.Bar], unit: str = "GB") -> charts.Chart:
    return charts.bar_chart(bars, unit=unit, chart_id="c1", title="Last 30 days", desc="Daily", no_data="No data yet")


@pytest.mark.parametrize("n", [0, 1, 30])
def test_daily_chart_is_valid_svg_for_0_1_and_30_points(n: int) -> None:
    chart = _chart(charts.daily_bars(make_daily(n)))
    root = parse_svg(chart.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}desc") is not None
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "s3b-chart-bar"]
    assert len(rects) == n
    assert len(chart.rows) == n
    assert chart.empty == (n == 0)
    if n == 0:
        assert "No data yet" in "".join(root.itertext())


def test_daily_bars_cover_the_30_days_ending_at_the_newest_point_with_gaps_left_empty() -> None:
    points = (*make_daily(365), DailyPoint(date(2026, 3, 5), GB))  # a gap on 03-03 and 03-04
    bars = charts.daily_bars(points)
    assert len(bars) == 30
    assert bars[-1].full == "2026-03-05"
    assert bars[0].full == "2026-02-04"
    assert [b.value_bytes for b in bars[-3:]] == [None, None, GB]
    root = parse_svg(_chart(bars).svg)
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "s3b-chart-bar"]) == 28


def test_all_zero_values_draw_a_unit_axis_without_dividing_by_zero() -> None:
    bars = [charts.Bar("01", "2026-01-01", 0), charts.Bar("02", "2026-01-02", 0)]
    chart = _chart(bars)
    ticks = [t.text for t in parse_svg(chart.svg).iter(f"{SVG}text") if t.get("class") == "s3b-chart-tick"]
    assert ticks == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert chart.rows == (("2026-01-01", "0.00 GB"), ("2026-01-02", "0.00 GB"))


def test_chart_values_are_converted_from_bytes_to_the_product_unit() -> None:
    chart = _chart([charts.Bar("01", "2026-01-01", 300 * 1024**2)], unit="MB")
    svg = parse_svg(chart.svg)
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "s3b-chart-tick"]
    unit = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "s3b-chart-unit"]
    assert ticks == ["0", "100", "200", "300"]
    assert unit == ["MB"]
    assert chart.rows == (("2026-01-01", "300.00 MB"),)


def test_monthly_bars_are_in_month_order_and_label_each_month() -> None:
    points = (MonthlyPoint("2026-02", 2 * GB), MonthlyPoint("2025-12", GB), MonthlyPoint("2026-01", 0))
    bars = charts.monthly_bars(points)
    assert [b.label for b in bars] == ["2025-12", "2026-01", "2026-02"]
    root = parse_svg(_chart(bars).svg)
    labels = [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "s3b-chart-x"]
    assert sorted(labels) == ["2025-12", "2026-01", "2026-02"]


def test_chart_text_is_escaped() -> None:
    chart = charts.bar_chart(
        [charts.Bar("<b>", "<script>", GB)], unit="GB", chart_id='x"y', title="<t>", desc="&", no_data="-"
    )
    root = parse_svg(chart.svg)  # parses: nothing broke out of its attribute or element
    assert "<script>" not in str(chart.svg)
    assert root.find(f"{SVG}title") is not None


@pytest.mark.parametrize(
    ("peak", "top", "step"),
    [(0, 1, 0.25), (1, 1, 0.25), (3, 3, 1), (2.7, 3, 1), (0.0234, 0.03, 0.01), (97, 100, 25)],
)
def test_nice_axis_rounds_up_to_a_round_step(peak: float, top: float, step: float) -> None:
    got_top, got_step = charts.nice_axis(peak)
    assert got_top == pytest.approx(top)
    assert got_step == pytest.approx(step)
    assert got_top >= peak


def test_client_area_charts_have_text_alternatives() -> None:
    html = render_client_area(make_view())
    assert html.count('role="img"') == 2
    assert html.count('class="s3b-vh"') >= 2
    assert "Bar chart of the space used each day, in GB." in html
    empty = render_client_area(make_view(daily=(), monthly=()))
    assert text_of(empty).count("No data yet") == 2
