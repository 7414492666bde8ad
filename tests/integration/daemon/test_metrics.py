"""Prometheus metrics (bridge/metrics.py) from a real daemon on its own listener, the scrape access rule, the
heartbeats of several daemons, and the Grafana dashboard checked against what the daemon exports."""

from __future__ import annotations

import ast
import json
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge import metrics
from bridge.domain.fleet import GONE_AFTER, DaemonBeat, state_of
from bridge.web.metrics_listener import allowed
from rig.paths import REPO
from rig.services import MariaDB, MinIO, free_port, stop_process
from rig.signed_http import send, signed_request
from tests.conftest import Daemon, make_config, server_params, start_daemon

pytestmark = [pytest.mark.minio, pytest.mark.mariadb]
ROOT = REPO
DASHBOARD = ROOT / "grafana" / "s3bridge-fleet.json"
BOUNDED_LABELS = {"function", "outcome", "code", "backend", "kind", "result", "serverid", "version", "state", "le"}


@pytest.fixture(scope="module")
def metered(mariadb: MariaDB, whmcs_db: str) -> Iterator[tuple[Daemon, str]]:
    cfg = make_config(mariadb, whmcs_db)
    port = free_port()
    cfg["fleet"] = {"metrics_listen": f"127.0.0.1:{port}"}
    d = start_daemon(cfg)
    yield d, f"http://127.0.0.1:{port}/metrics"
    stop_process(d.proc)


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=")
        text = r.read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lab, v in samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))


def test_calls_storage_calls_refusals_and_liveness_are_counted_with_bounded_labels(metered, minio: MinIO) -> None:
    daemon, url = metered
    before = scrape(url)
    ok = send(signed_request(daemon.url, daemon.secret, "TestConnection", server_params(minio)))
    assert ok.status == 200, ok.body
    bad = send(signed_request(daemon.url, "not-the-secret-at-all", "TestConnection", server_params(minio)))
    assert bad.status == 401
    after = scrape(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("s3bridge_module_calls_total", function="TestConnection", outcome="ok") == 1
    assert grew("s3bridge_module_call_seconds_count", function="TestConnection", outcome="ok") == 1
    assert grew("s3bridge_module_calls_total", function="TestConnection", outcome="bad_signature") == 1
    assert grew("s3bridge_refused_calls_total", code="bad_signature") == 1
    assert grew("s3bridge_storage_calls_total", backend="minio", outcome="ok") >= 1
    assert value(after, "s3bridge_daemon_up") == 1
    assert value(after, "s3bridge_calls_queued") == 0
    assert value(after, "s3bridge_fleet_daemons", state="alive") >= 1
    labels = {k for samples in after.values() for lab, _ in samples for k in lab}
    assert labels <= BOUNDED_LABELS, labels - BOUNDED_LABELS


def test_an_unknown_function_name_is_counted_as_other_not_as_a_new_label(metered) -> None:
    daemon, url = metered
    name = f"Nope{int(time.time())}"
    assert send(signed_request(daemon.url, daemon.secret, name, {})).status == 404
    after = scrape(url)
    assert not [lab for lab, _ in after["s3bridge_module_calls_total"] if lab["function"] == name]
    assert value(after, "s3bridge_module_calls_total", function="other", outcome="unknown_function") >= 1


def test_the_scrape_answers_only_addresses_in_metrics_allow() -> None:
    import ipaddress

    nets = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]
    assert allowed("10.2.3.4", nets)
    assert allowed("::ffff:10.2.3.4", nets)  # an IPv4 peer on a dual-stack socket
    assert allowed("::1", nets)
    assert not allowed("127.0.0.1", nets)
    assert not allowed("192.168.1.1", nets)
    assert not allowed(None, nets)
    assert not allowed("not-an-address", nets)


def test_a_daemon_outside_metrics_allow_gets_403(mariadb: MariaDB, whmcs_db: str) -> None:
    cfg = make_config(mariadb, whmcs_db)
    port = free_port()
    cfg["fleet"] = {"metrics_listen": f"127.0.0.1:{port}", "metrics_allow": ["10.0.0.0/8"]}
    d = start_daemon(cfg)
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert e.value.code == 403
        assert b"metrics_allow" in e.value.read()
    finally:
        stop_process(d.proc)


def daemons(mariadb: MariaDB, db: str) -> dict[int, dict[str, Any]]:
    conn = mariadb.connect(db)
    with conn.cursor() as cur:
        cur.execute("SELECT daemon_id, pid, version, started_at, last_seen, stopped_at FROM mod_s3bridge_daemons")
        rows = {int(r["pid"]): r for r in cur.fetchall()}
    conn.close()
    return rows


def test_each_daemon_beats_into_the_database_and_says_goodbye_on_a_clean_stop(mariadb: MariaDB, whmcs_db: str) -> None:
    first = start_daemon(make_config(mariadb, whmcs_db))
    second = start_daemon(make_config(mariadb, whmcs_db))
    try:
        # the first beat is written by a task the daemon starts beside its listener: wait for it, not for the port
        deadline = time.monotonic() + 30
        while {first.proc.pid, second.proc.pid} - set(seen := daemons(mariadb, whmcs_db)):
            assert time.monotonic() < deadline, f"no first beat within 30 s: {sorted(seen)}"
            time.sleep(0.2)
        for d in (first, second):
            row = seen[d.proc.pid]
            assert row["stopped_at"] is None
            assert row["version"]
        stop_process(first.proc)  # SIGTERM: a clean stop says goodbye
        assert daemons(mariadb, whmcs_db)[first.proc.pid]["stopped_at"] is not None
        second.proc.send_signal(signal.SIGKILL)  # no goodbye: its beats just stop
        second.proc.wait(10)
        row = daemons(mariadb, whmcs_db)[second.proc.pid]
        assert row["stopped_at"] is None
        beat = DaemonBeat("x", "h", 1, "v", row["started_at"], row["last_seen"].replace(tzinfo=UTC))
        assert state_of(beat, beat.last_seen + GONE_AFTER + timedelta(seconds=1)) == "gone"
    finally:
        stop_process(first.proc)
        stop_process(second.proc)


def test_a_daemon_is_gone_within_a_minute_of_its_last_beat() -> None:
    t = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    beat = DaemonBeat("d", "h", 1, "0.1.0", t, t)
    assert state_of(beat, t + timedelta(seconds=30)) == "alive"
    assert state_of(beat, t + timedelta(seconds=46)) == "gone"
    assert timedelta(minutes=1) > GONE_AFTER
    assert state_of(DaemonBeat("d", "h", 1, "0.1.0", t, t, stopped_at=t), t) == "stopped"


# -- the Grafana dashboard --------------------------------------------------------------------------------------


def exported_names() -> set[str]:
    """Every sample name the daemon can export: the registry's metrics (with the suffixes of their types) and the
    scrape-time samples named in the source (`metrics.Sample("name", ...)`)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        if family.type == "counter":
            names |= {family.name + "_total"}
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    for path in (ROOT / "bridge").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Sample":
                name, kind = node.args[0], node.args[2]
                assert isinstance(name, ast.Constant), f"{path}: a Sample's name must be a literal"
                counter = (isinstance(kind, ast.Constant) and kind.value == "counter") or (
                    isinstance(kind, ast.Name) and kind.id == "counter"
                )
                names.add(str(name.value) + ("_total" if counter else ""))
    return names


def test_every_dashboard_panel_queries_only_metrics_the_daemon_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    assert "s3bridge_module_calls_total" in exported
    assert "s3bridge_ingest_dropped_total" in exported
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        used = {n for t in panel["targets"] for n in re.findall(r"\bs3bridge_[a-z0-9_]+\b", t["expr"])}
        assert used, f"panel '{panel['title']}' queries no s3bridge metric"
        assert used <= exported, f"panel '{panel['title']}' queries {sorted(used - exported)}, not exported"
