"""Traffic on the pages: the client area's traffic chart and month total, the admin tab's traffic and the figure
the latest limit decision used (pure rendering)."""

from __future__ import annotations

from datetime import datetime

from bridge.views.model import Decision, Traffic
from bridge.views.render import render_admin_tab, render_client_area
from tests.support.view_samples import GB, make_admin, make_daily, make_view, text_of


def test_client_area_shows_the_traffic_chart_and_this_months_total_when_metered() -> None:
    html = render_client_area(
        make_view(traffic=make_daily(30), traffic_month=Traffic(3 * GB, GB // 2, {"read": 7, "write": 3}))
    )
    text = text_of(html)
    assert "Traffic, last 30 days (GB)" in text
    assert "Traffic this month: 3.50 GB" in text
    assert 'id="s3b-4242-traffic-title"' in html  # the chart's own ids


def test_client_area_without_traffic_has_no_traffic_section() -> None:
    assert "Traffic" not in text_of(render_client_area(make_view()))


def test_admin_tab_says_which_figure_the_limit_decision_used() -> None:
    fields = render_admin_tab(
        make_admin(
            traffic_month=Traffic(GB, GB, {"read": 1, "write": 2, "list": 0, "delete": 0, "other": 0}),
            decision=Decision("estimate", 11 * GB, datetime(2026, 3, 2, 12, 0)),
        )
    )
    assert "estimate (scan + written since)" in text_of(fields["Limit decision"])
    assert "11.00 GB" in text_of(fields["Limit decision"])
    assert "2.00 GB" in text_of(fields["Traffic this month"])


def test_admin_tab_without_decision_or_traffic_has_neither_field() -> None:
    fields = render_admin_tab(make_admin())
    assert "Limit decision" not in fields
    assert "Traffic this month" not in fields
