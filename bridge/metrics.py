"""The daemon's Prometheus metrics (prometheus-client), shared by every layer like `logs`.

Labels stay bounded: module function names (the registry's, else "other"), error codes (the daemon's own fixed
set), backend names, drift kinds and WHMCS server ids (a provider has a handful). Never a service id, a username or a
bucket. Values the daemon already keeps (the meter's counters, the admission queues, the heartbeats) are read at
scrape time by `Sampled` collectors instead of being copied on every change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

CALLS = Counter(
    "s3bridge_module_calls", "Module calls answered, by function and outcome (ok or the error code)",
    ("function", "outcome"), registry=REGISTRY,
)  # fmt: skip
CALL_SECONDS = Histogram(
    "s3bridge_module_call_seconds", "Module call latency, by function and outcome",
    ("function", "outcome"), buckets=_LATENCY_BUCKETS, registry=REGISTRY,
)  # fmt: skip
REFUSED = Counter(
    "s3bridge_refused_calls", "Calls refused by the signed channel, by error code", ("code",), registry=REGISTRY
)
OVERLOADED = Counter(
    "s3bridge_overload_answers", "Calls answered 503 overloaded/service_busy instead of queued", ("code",),
    registry=REGISTRY,
)  # fmt: skip
STORAGE_CALLS = Counter(
    "s3bridge_storage_calls", "Calls to storage servers, by backend and outcome (ok or the error code)",
    ("backend", "outcome"), registry=REGISTRY,
)  # fmt: skip
USAGE_CYCLE_SECONDS = Histogram(
    "s3bridge_usage_cycle_seconds", "One server's usage collection, by kind (daily UsageUpdate or the 5-minute check)",
    ("kind", "result"), buckets=_LATENCY_BUCKETS, registry=REGISTRY,
)  # fmt: skip
USAGE_CYCLE_LAST = Gauge(
    "s3bridge_usage_cycle_last_success_timestamp_seconds", "When a usage collection last succeeded, by kind",
    ("kind",), registry=REGISTRY,
)  # fmt: skip
DRIFT = Gauge(
    "s3bridge_drift_findings", "Findings the last reconcile left, by WHMCS server id and kind", ("serverid", "kind"),
    registry=REGISTRY,
)  # fmt: skip
RECONCILE_SECONDS = Histogram(
    "s3bridge_reconcile_seconds", "One server's reconcile (gather, compare, repair)", buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)  # fmt: skip
STARTED = Gauge("s3bridge_daemon_start_time_seconds", "When this daemon started (Unix time)", registry=REGISTRY)
UP = Gauge("s3bridge_daemon_up", "1 while this daemon serves", registry=REGISTRY)
INFO = Gauge("s3bridge_daemon_info", "This daemon's version (the value is 1)", ("version",), registry=REGISTRY)


@dataclass(frozen=True)
class Sample:
    name: str
    help: str
    kind: str  # "gauge" | "counter"
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class Sampled(Collector):
    """Metrics read at scrape time from `source` (a callable returning samples)."""

    def __init__(self, source: Callable[[], Iterable[Sample]]) -> None:
        self.source = source

    def describe(self) -> Iterable[Metric]:
        return ()  # names vary with the source: not checked for duplicates at registration

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for s in self.source():
            family = families.get(s.name)
            if family is None:
                names = [k for k, _ in s.labels]
                family = (
                    CounterMetricFamily(s.name, s.help, labels=names)
                    if s.kind == "counter"
                    else GaugeMetricFamily(s.name, s.help, labels=names)
                )
                families[s.name] = family
            family.add_metric([v for _, v in s.labels], s.value)
        yield from families.values()


def register_sampled(source: Callable[[], Iterable[Sample]]) -> Callable[[], None]:
    """Add a scrape-time collector; returns the function that removes it again (the app's cleanup)."""
    collector = Sampled(source)
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)


def storage_call(backend: str, outcome: str) -> None:
    STORAGE_CALLS.labels(backend, outcome).inc()


def total(counter: Counter) -> int:
    """A counter's value summed over its labels (what this process counted since it started)."""
    return int(sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total")))
