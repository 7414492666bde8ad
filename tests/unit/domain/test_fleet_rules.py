"""The fleet's pure rules (bridge/domain/fleet.py): the hour the Servers page sums, audit event times, the meter's
per-server state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.domain.fleet import MeterServerState, event_time, hour_window, minute_of


def test_the_last_hour_is_the_sixty_minute_rows_up_to_and_including_nows() -> None:
    now = datetime(2026, 12, 2, 11, 30, 42, 5, tzinfo=UTC)
    assert minute_of(now) == datetime(2026, 12, 2, 11, 30, tzinfo=UTC)
    first = hour_window(now)
    assert first == datetime(2026, 12, 2, 10, 31, tzinfo=UTC)
    rows = [minute_of(now) - timedelta(minutes=n) for n in range(120)]
    assert sum(1 for m in rows if m >= first) == 60


def test_an_audit_events_time_keeps_microseconds_of_minios_nanoseconds_and_refuses_nonsense() -> None:
    assert event_time("2026-12-02T11:25:02.123456789Z") == datetime(2026, 12, 2, 11, 25, 2, 123456, tzinfo=UTC)
    assert event_time("2026-12-02T11:25:02.5Z") == datetime(2026, 12, 2, 11, 25, 2, 500000, tzinfo=UTC)
    assert event_time("2026-12-02T11:25:02Z") == datetime(2026, 12, 2, 11, 25, 2, tzinfo=UTC)
    for bad in ("", "yesterday", "2026-13-02T11:25:02Z", '"><img src=x>'):
        assert event_time(bad) is None


def test_the_meter_state_keeps_the_newest_event_and_the_last_batchs_lag() -> None:
    state = MeterServerState()
    t0 = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    state.written(t0, t0 + timedelta(milliseconds=250))
    assert (state.last_event_at, state.lag_ms) == (t0, 250)
    state.written(t0 - timedelta(minutes=5), t0 + timedelta(seconds=2))  # a resend of old events from MinIO's queue
    assert (state.last_event_at, state.lag_ms) == (t0, 302_000)  # the newest stays; the lag is this batch's
    state.written(None, t0 + timedelta(seconds=3))  # a batch without a readable time changes nothing
    assert state.lag_ms == 302_000
    state.written(t0 + timedelta(seconds=10), t0 + timedelta(seconds=9))  # MinIO's clock ahead of ours: no negative
    assert (state.last_event_at, state.lag_ms) == (t0 + timedelta(seconds=10), 0)
