"""The meter assembled: known servers, the limit decider and the ingest writer, started together."""

from __future__ import annotations

from bridge.backends.directory import ServerDirectory
from bridge.config import Config
from bridge.domain.sealing import SecretBox
from bridge.functions.context import Resources
from bridge.functions.meter.decider import LimitDecider
from bridge.functions.meter.ingest import Meter
from bridge.functions.meter.servers import PURPOSE, KnownServers


def start_meter(resources: Resources, config: Config, directory: ServerDirectory) -> Meter:
    store = resources.stores.meter
    servers = KnownServers(directory, store, SecretBox.from_config(config.sealing_materials(), PURPOSE))
    meter = Meter(resources, config.meter, servers, LimitDecider(resources, servers, store))
    meter.start()
    return meter
