"""Render the client area and the admin tab to HTML (pure: view model in, string out).

jinja2 with autoescaping on for every template and string, StrictUndefined, and a finalizer that also turns the
braces of any value into entities, so nothing a customer or admin typed can open a Smarty tag if WHMCS ever parses
the output. Links are only made of http(s) and relative URLs (`safe_href`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from bridge.views.charts import Bar, Chart, bar_chart, daily_bars, monthly_bars
from bridge.views.emails import DiskFigures, whmcs_safe
from bridge.views.i18n import Translator, translator, unit_of
from bridge.views.model import AdminTabView, ClientAreaView, Disk

TEMPLATES = Path(__file__).resolve().parent / "templates"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
WARN_PCT, FULL_PCT = 75.0, 100.0
LEVEL_COLOURS = {"success": "#198754", "warning": "#b58100", "danger": "#dc3545"}


def safe_href(url: str) -> str:
    """`url` when it may become a link (http, https or relative), else "". Browsers drop tabs and newlines inside
    URLs ("java\\tscript:"), so any control character disqualifies it, as does a backslash."""
    candidate = url.strip(" \t\n\r\f\v\x00")
    if not candidate or _CONTROL.search(candidate) or "\\" in candidate:
        return ""
    scheme = _SCHEME.match(candidate)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return ""
    return candidate


def _inert(value: object) -> object:
    """Finalizer of every {{ expression }}: our Markup passes, everything else is escaped with its braces."""
    if isinstance(value, Markup):
        return value
    text = escape(value)
    return whmcs_safe(str(value)) if "{" in text or "}" in text else text


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "j2", "html.j2"), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        finalize=_inert,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@dataclass(frozen=True)
class DiskText:
    """The disk figures as the page shows them, in the view's language."""

    unlimited: bool
    limit: str
    used: str
    free: str
    pct_used: str
    pct_free: str
    gauge: str  # 0..100, for the bar's width and aria-valuenow
    level: str  # success | warning | danger
    colour: str
    last_update: str
    last_update_iso: str
    exact: bool


def disk_text(disk: Disk, t: Translator) -> DiskText:
    unit = unit_of(disk.unit)
    figures = DiskFigures(used_bytes=disk.used_bytes, limit_bytes=disk.limit_bytes, unit=unit)
    unlimited = disk.limit_bytes <= 0
    pct = 0.0 if unlimited else float(figures.pct_used)
    level = "danger" if pct >= FULL_PCT else "warning" if pct >= WARN_PCT else "success"
    return DiskText(
        unlimited=unlimited,
        limit=t("unlimited") if unlimited else t.size(disk.limit_bytes, unit),
        used=t.size(disk.used_bytes, unit),
        free="" if unlimited else t.size(figures.free_bytes, unit),
        pct_used="" if unlimited else t.percent(figures.pct_used),
        pct_free="" if unlimited else t.percent(figures.pct_free),
        gauge=f"{min(pct, 100.0):.2f}",
        level=level,
        colour=LEVEL_COLOURS[level],
        last_update=t.moment(disk.last_update),
        last_update_iso=t.iso(disk.last_update) if isinstance(disk.last_update, datetime) else "",
        exact=disk.exact,
    )


@dataclass(frozen=True)
class Action:
    label: str
    href: str
    style: str  # Bootstrap button variant
    post: bool = False  # changes something: a form posting WHMCS's CSRF token, never a link


def _charts(view: ClientAreaView, t: Translator) -> tuple[Chart, Chart]:
    unit = unit_of(view.disk.unit)
    prefix = f"s3b-{view.serviceid}"

    def size(n_bytes: int) -> str:
        return t.size(n_bytes, unit)

    def chart(bars: list[Bar], name: str, title: str, desc: str) -> Chart:
        return bar_chart(
            bars,
            unit=unit,
            chart_id=f"{prefix}-{name}",
            title=t(title),
            desc=t(desc, unit=unit),
            no_data=t("no_data"),
            decimal_sep=t.decimal_sep,
            value_text=size,
        )

    daily = chart(daily_bars(view.daily), "daily", "last_30_days", "chart_daily_desc")
    monthly = chart(monthly_bars(view.monthly), "monthly", "monthly_avg", "chart_monthly_desc")
    return daily, monthly


def render_client_area(view: ClientAreaView) -> str:
    """The client area overview: one root <div class="s3b"> with its own scoped <style> and copy script."""
    t = translator(view.language)
    daily, monthly = _charts(view, t)
    wanted = (
        ("rotate_keys" if view.keys else "change_password", view.change_password_url, "outline-primary", True),
        ("recalculate", view.recalculate_url, "outline-primary", True),
        ("upgrade", view.upgrade_url, "outline-primary", False),
        ("cancel", view.cancel_url, "outline-danger", False),
    )
    actions = [Action(t(key), href, style, post) for key, url, style, post in wanted if (href := safe_href(url))]
    return (
        environment()
        .get_template("client_area.html.j2")
        .render(
            view=view,
            t=t,
            disk=disk_text(view.disk, t),
            unit=unit_of(view.disk.unit),
            daily=daily,
            monthly=monthly,
            actions=actions,
            console_href=safe_href(view.console_url),
            instructions_href=safe_href(view.instructions_url),
            prefix=f"s3b-{view.serviceid}",
        )
    )


ADMIN_FIELDS = (
    ("api_connection", "admin_connection.html.j2"),
    ("user", "admin_user.html.j2"),
    ("disk", "admin_disk.html.j2"),
    ("buckets", "admin_buckets.html.j2"),
    ("last_usage_update", "admin_last_update.html.j2"),
)


def render_admin_tab(view: AdminTabView) -> dict[str, str]:
    """AdminServicesTabFields: translated label -> HTML fragment (each its own root element). "Notes" is added
    only when the view has notes."""
    t = translator(view.language)
    env = environment()
    context = {"view": view, "t": t, "disk": disk_text(view.disk, t), "unit": unit_of(view.disk.unit)}
    fields = {t(key): env.get_template(name).render(context) for key, name in ADMIN_FIELDS}
    if view.notes:
        fields[t("notes")] = env.get_template("admin_notes.html.j2").render(context)
    return fields
