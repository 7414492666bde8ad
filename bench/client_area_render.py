"""Client area rendering alone: a view with 50 buckets and 365 days of history, rendered 200 times.

    .venv/bin/python -m bench.client_area_render [--runs 200]

Only `render_client_area(view)` is timed (the view is built once; no database, no storage server). The daily
series holds all 365 days (the chart shows the 30 ending at the newest), the monthly one the 12 averages of that
year. Also timed: the same view in Arabic (RTL, other number notation) and the admin tab with the same buckets.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta

from bench.common import report, summary, timed
from bridge.domain.values import DailyPoint, MonthlyPoint
from bridge.views.model import AdminTabView, Bucket, ClientAreaView, Disk
from bridge.views.render import render_admin_tab, render_client_area

GB = 1024**3
BUDGET_MS = 50.0


def history(days: int, end: date) -> tuple[tuple[DailyPoint, ...], tuple[MonthlyPoint, ...]]:
    daily = tuple(
        DailyPoint(end - timedelta(days=days - 1 - i), int((1 + i / days) * 3 * GB) + i * 7919) for i in range(days)
    )
    months: dict[str, list[int]] = {}
    for p in daily:
        months.setdefault(p.day.strftime("%Y-%m"), []).append(p.used_bytes)
    monthly = tuple(MonthlyPoint(m, sum(v) // len(v)) for m, v in sorted(months.items()))
    return daily, monthly


def buckets(n: int) -> tuple[Bucket, ...]:
    return tuple(
        Bucket(
            f"7-55--project-{i:02d}-assets",
            datetime(2025, 1 + i % 12, 1 + i % 28, 8, 15),
            1000 * i + 7,
            i * 97 * 1024**2,
        )
        for i in range(n)
    )


def client_view(language: str = "english") -> ClientAreaView:
    daily, monthly = history(365, date(2026, 3, 2))
    return ClientAreaView(
        language=language,
        serviceid=4242,
        endpoint="https://s3.example.com",
        console_url="https://console.example.com",
        instructions_url="https://docs.example.com/s3",
        username="7-55",
        password="Pw9qAZWSxedc",
        password_display="button",
        suspended=False,
        policy="standard",
        disk=Disk(
            used_bytes=daily[-1].used_bytes,
            limit_bytes=10 * GB,
            unit="GB",
            last_update=datetime(2026, 3, 2, 3, 0),
            exact=False,
        ),
        buckets=buckets(50),
        daily=daily,
        monthly=monthly,
        change_password_url="clientarea.php?action=productdetails&id=4242&modop=custom&a=ResetPassword",
        recalculate_url="clientarea.php?action=productdetails&id=4242&modop=custom&a=RecalculateDiskSpace",
        upgrade_url="upgrade.php?type=package&id=4242",
        cancel_url="clientarea.php?action=cancel&id=4242",
    )


def admin_view() -> AdminTabView:
    view = client_view()
    return AdminTabView(
        language="english",
        connection_ok=True,
        connection_message="MinIO 2026-02-12",
        username=view.username,
        user_status="enabled",
        groups=("USERS",),
        policy="s3bridge-7-55-standard",
        policy_kind="standard",
        disk=view.disk,
        buckets=view.buckets,
        state="active",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    english, arabic, admin = client_view(), client_view("arabic"), admin_view()
    rows = {
        "client area, english (50 buckets, 365 days)": summary(timed(lambda: render_client_area(english), args.runs)),
        "client area, arabic (rtl)": summary(timed(lambda: render_client_area(arabic), args.runs)),
        "admin tab (50 buckets)": summary(timed(lambda: render_admin_tab(admin), args.runs)),
    }
    html = render_client_area(english)
    main_row = rows["client area, english (50 buckets, 365 days)"]
    report(
        "client_area_render",
        rows,
        {
            "html_bytes": len(html.encode()),
            "budget_ms": BUDGET_MS,
            "within_budget": main_row["p95_ms"] < BUDGET_MS,
        },
    )


if __name__ == "__main__":
    main()
