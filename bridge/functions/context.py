"""What a module function receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.backends.base import BackendFactory
from bridge.config import MeterConfig
from bridge.domain.params import Params
from bridge.views.emails import Mailer
from bridge.whmcs.area_queries import AreaQueries
from bridge.whmcs.db import Database
from bridge.whmcs.drift_store import DriftStore
from bridge.whmcs.fleet_store import FleetStore
from bridge.whmcs.heartbeats import Heartbeats
from bridge.whmcs.meter_store import MeterStore
from bridge.whmcs.order_store import OrderBuckets
from bridge.whmcs.panel_store import PanelStore
from bridge.whmcs.pending_store import PendingSecrets
from bridge.whmcs.service_locks import ServiceLocks
from bridge.whmcs.services import ServiceRecords
from bridge.whmcs.usage_store import UsageStore


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Stores:
    """Every store the use cases read or write through, built once over the daemon's database (by `Resources`)."""

    usage: UsageStore
    meter: MeterStore
    areas: AreaQueries
    panel: PanelStore
    drift: DriftStore
    fleet: FleetStore
    heartbeats: Heartbeats
    orders: OrderBuckets

    @classmethod
    def over(cls, db: Database) -> Stores:
        return cls(
            UsageStore(db),
            MeterStore(db),
            AreaQueries(db),
            PanelStore(db),
            DriftStore(db),
            FleetStore(db),
            Heartbeats(db),
            OrderBuckets(db),
        )


@dataclass
class Resources:
    """The resources a use case may use; built once by the app factory."""

    db: Database
    backend_for: BackendFactory
    records: ServiceRecords
    mailer: Mailer
    locks: ServiceLocks  # per service, across every daemon on the database
    pending: PendingSecrets  # sealed in the database, seen by every daemon
    now: Callable[[], datetime] = utcnow
    usage_budget_s: float = 10.0  # exact listings in a call stop here and say so
    meter_config: MeterConfig | None = None  # the config's [meter] section (whichever process runs the listener)
    meter_secrets: tuple[str, ...] = ()  # the daemon's secrets: the audit tokens derive from the first
    orphan_grace: timedelta = timedelta(hours=72)  # reconcile: an orphan's data waits this long ([fleet])
    stores: Stores = field(init=False)  # built once from `db`

    def __post_init__(self) -> None:
        self.stores = Stores.over(self.db)


@dataclass
class Outcome:
    result: Any
    effects: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[Resources, Params], Awaitable[Outcome]]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: Handler
    required: tuple[str, ...] = ()
