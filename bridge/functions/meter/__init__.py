"""Traffic metering as its own service: `ingest` (the batch writer behind the audit listener), `decider` (limit
decisions on the estimate, within seconds), `servers` (the storage servers the meter may act on after a restart).
The WHMCS module functions that configure and read it are in `bridge.functions.metering`."""
