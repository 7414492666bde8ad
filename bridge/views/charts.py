"""Server-side bar charts as inline SVG (pure; no client-side library, nothing loaded from anywhere).

The SVG has a fixed pixel height and percentage x coordinates, so it fills any width (320 px phones to desktops)
while its text keeps a readable size. Values arrive in bytes and are drawn in the product's binary unit. Every
piece of text is escaped (HTML, and braces as entities so Smarty never sees a tag). A chart carries <title> and
<desc>, and the rows for a text table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup

from bridge.domain.product_settings import UNITS
from bridge.domain.values import DailyPoint, MonthlyPoint
from bridge.views.emails import whmcs_safe

HEIGHT = 200  # px
TOP, BOTTOM = 22, 26  # px above the plot (unit label) and below it (x labels)
GUTTER = 13.0  # % of the width left of the plot, for the y labels
RIGHT = 3.0  # % kept free on the right (half of the newest x label)
MAX_X_LABELS = 5
MAX_BAR = 12.0  # % of the width: few bars stay bars, not slabs
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Bar:
    label: str  # short x-axis label, e.g. "02-04"
    full: str  # full label for the tooltip and the table, e.g. "2026-02-04"
    value_bytes: int | None  # None: no data for this slot (nothing drawn)


@dataclass(frozen=True)
class Chart:
    svg: Markup
    rows: tuple[tuple[str, str], ...]  # (full label, value in the unit) of every slot with data: the text table
    empty: bool


def daily_bars(points: Sequence[DailyPoint], days: int = 30) -> list[Bar]:
    """One slot per calendar day of the `days` days ending at the newest point; days without data stay empty."""
    if not points:
        return []
    by_day = {p.day: p.used_bytes for p in points}
    end = max(by_day)
    slots = [end - timedelta(days=days - 1 - i) for i in range(days)]
    return [Bar(d.strftime("%m-%d"), d.isoformat(), by_day.get(d)) for d in slots]


def monthly_bars(points: Sequence[MonthlyPoint], months: int = 24) -> list[Bar]:
    """One slot per month given (the newest `months`), in month order."""
    ordered = sorted({p.month: p.avg_bytes for p in points}.items())[-months:]
    return [Bar(month, month, value) for month, value in ordered]


def nice_axis(peak: float, intervals: int = 4) -> tuple[float, float]:
    """(top, step): a round step (1, 2, 2.5 or 5 times a power of ten) and the smallest multiple of it >= peak."""
    if not math.isfinite(peak) or peak <= 0:
        return 1.0, 1.0 / intervals
    raw = peak / intervals
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-9))
    top = step * math.ceil(peak / step - 1e-9)
    return top, step


def _places(step: float) -> int:
    """Decimals that show every tick of this step exactly (2.5 needs one more than 2)."""
    places = max(0, -math.floor(math.log10(step) + 1e-9))
    if not math.isclose(round(step, places), step, rel_tol=1e-9):
        places += 1
    return places


def _num(value: float, places: int, decimal_sep: str) -> str:
    return f"{value:.{places}f}".replace(".", decimal_sep)


def _pct(x: float) -> str:
    return f"{x:.3f}%"


def bar_chart(
    bars: Sequence[Bar],
    *,
    unit: str,
    chart_id: str,
    title: str,
    desc: str,
    no_data: str,
    decimal_sep: str = ".",
    value_text: Callable[[int], str] | None = None,
) -> Chart:
    """An SVG bar chart of `bars` (bytes) drawn in `unit`; `no_data` is shown when no slot has a value.
    `value_text` formats a value for tooltips and the table (default: the number in the unit, 2 decimals)."""
    unit = unit if unit in UNITS else "GB"
    coefficient = UNITS[unit]
    fmt = value_text or (lambda b: _num(b / coefficient, 2, decimal_sep) + " " + unit)
    with_data = [b for b in bars if b.value_bytes is not None]
    cid = whmcs_safe(chart_id)
    ids = cid + Markup("-title ") + cid + Markup("-desc")
    head = Markup(
        '<svg xmlns="{ns}" class="s3b-chart" width="100%" height="{h}" role="img" aria-labelledby="{ids}">'
        '<title id="{cid}-title">{title}</title><desc id="{cid}-desc">{desc}</desc>'
    ).format(ns=SVG_NS, h=HEIGHT, ids=ids, cid=cid, title=whmcs_safe(title), desc=whmcs_safe(desc))
    if not with_data:
        body = Markup(
            '<rect class="s3b-chart-frame" x="0.5" y="0.5" width="99%" height="{h}" rx="4"/>'
            '<text class="s3b-chart-empty" x="50%" y="{y}" text-anchor="middle">{text}</text>'
        ).format(h=HEIGHT - 1, y=HEIGHT // 2, text=whmcs_safe(no_data))
        return Chart(head + body + Markup("</svg>"), (), True)

    values = [(b.value_bytes or 0) / coefficient for b in with_data]
    top, step = nice_axis(max(values))
    places = _places(step)
    plot_h = HEIGHT - TOP - BOTTOM
    parts: list[Markup] = [head]

    # Unit above the y labels, then gridlines with their labels.
    parts.append(
        Markup('<text class="s3b-chart-unit" x="{x}" y="{y}" text-anchor="end">{u}</text>').format(
            x=_pct(GUTTER - 1), y=TOP - 10, u=whmcs_safe(unit)
        )
    )
    ticks = round(top / step)
    for k in range(ticks + 1):
        y = TOP + plot_h * (1 - k / ticks)
        parts.append(
            Markup(
                '<line class="s3b-chart-grid" stroke="#ccc" x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}"/>'
                '<text class="s3b-chart-tick" x="{tx}" y="{ty:.1f}" text-anchor="end">{label}</text>'
            ).format(
                x1=_pct(GUTTER),
                x2=_pct(100 - RIGHT),
                y=y,
                tx=_pct(GUTTER - 1),
                ty=y + 4,
                label=_num(k * step, places, decimal_sep),
            )
        )

    # Bars: one slot per entry; a slot without data draws nothing.
    n = len(bars)
    slot = (100 - GUTTER - RIGHT) / n
    for i, b in enumerate(bars):
        if b.value_bytes is None:
            continue
        v = b.value_bytes / coefficient
        h = plot_h * min(v / top, 1.0)
        if b.value_bytes > 0:
            h = max(h, 1.0)  # a tiny but non-zero value stays visible
        width = min(slot * 0.7, MAX_BAR)
        parts.append(
            Markup(
                '<rect class="s3b-chart-bar" x="{x}" y="{y:.1f}" width="{w}" height="{h:.1f}" fill="#0d6efd">'
                "<title>{tip}</title></rect>"
            ).format(
                x=_pct(GUTTER + slot * (i + 0.5) - width / 2),
                y=TOP + plot_h - h,
                w=_pct(width),
                h=h,
                tip=whmcs_safe(f"{b.full}: {fmt(b.value_bytes)}"),
            )
        )

    # x labels under their bars: the newest slot always, then every k-th going back (fewer when they are long,
    # so that they do not touch on a 320 px phone).
    longest = max(len(b.label) for b in bars)
    every = max(1, math.ceil(n / (MAX_X_LABELS if longest <= 5 else MAX_X_LABELS - 1)))
    for i in range(n - 1, -1, -every):
        parts.append(
            Markup('<text class="s3b-chart-x" x="{x}" y="{y}" text-anchor="middle">{label}</text>').format(
                x=_pct(GUTTER + slot * (i + 0.5)), y=HEIGHT - 8, label=whmcs_safe(bars[i].label)
            )
        )
    parts.append(Markup("</svg>"))
    rows = tuple((b.full, fmt(b.value_bytes)) for b in with_data if b.value_bytes is not None)
    return Chart(Markup("").join(parts), rows, False)
