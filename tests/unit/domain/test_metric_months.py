"""Which month WHMCS files a usage-metric value under (WHMCS's timezone, a collection every 720 minutes), and the
closing value of the previous month on a month's first collection (bridge/domain/metric_months.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bridge.domain.metric_months import metric_months

NEW_YORK = ZoneInfo("America/New_York")


def test_west_of_utc_the_month_is_still_the_old_one_after_utc_midnight() -> None:
    """00:00-05:00 UTC on the 1st is still the last day of the old month in New York: report the old month so far
    (the daemon used to report the new UTC month's small total, which WHMCS filed over the old month)."""
    windows = metric_months(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), NEW_YORK)
    assert [(w.first, w.last) for w in windows] == [(date(2026, 11, 1), None)]


def test_a_months_first_collection_closes_the_previous_month_dated_inside_it() -> None:
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 01:00 on 1 December in New York
    current, closing = metric_months(now, NEW_YORK)
    assert (current.first, current.last) == (date(2026, 12, 1), None)
    assert (closing.first, closing.last) == (date(2026, 11, 1), date(2026, 11, 30))
    assert closing.filed_at.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S") == "2026-11-30 23:59:59"


def test_after_the_first_720_minutes_no_closing_value() -> None:
    assert len(metric_months(datetime(2026, 12, 1, 17, 1, tzinfo=UTC), NEW_YORK)) == 1
    assert len(metric_months(datetime(2026, 12, 1, 16, 59, tzinfo=UTC), NEW_YORK)) == 2
    assert len(metric_months(datetime(2026, 12, 15, 3, 0, tzinfo=UTC), UTC)) == 1
