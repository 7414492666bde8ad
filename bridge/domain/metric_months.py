"""Which month WHMCS files a usage-metric value under, and when a month needs a closing value (pure).

WHMCS's "Tenant Usage Metrics" cron task runs every 720 minutes and files a `month` metric's value under the month
of the collection time in WHMCS's timezone (DESIGN, "More, from WHMCS 8.7's own code paths"). So the month to report
is the local one, and the last collection of a month can be up to 12 hours before the month ends: on a month's
first collection the previous month gets a closing value (its full total), dated inside that month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

COLLECTION_INTERVAL = timedelta(minutes=720)


@dataclass(frozen=True)
class MonthWindow:
    first: date  # first day of the month, in WHMCS's timezone
    last: date | None  # last day (None: the month so far)
    filed_at: datetime  # a moment inside the month, in UTC, to date the value with


def metric_months(now: datetime, whmcs_tz: tzinfo, interval: timedelta = COLLECTION_INTERVAL) -> list[MonthWindow]:
    """The current month so far and, within the first `interval` of a month, the previous month in full."""
    local = now.astimezone(whmcs_tz)
    first = local.date().replace(day=1)
    windows = [MonthWindow(first, None, now)]
    month_began = datetime(first.year, first.month, 1, tzinfo=whmcs_tz)
    if local - month_began < interval:
        last = first - timedelta(days=1)
        windows.append(MonthWindow(last.replace(day=1), last, month_began - timedelta(seconds=1)))
    return windows
