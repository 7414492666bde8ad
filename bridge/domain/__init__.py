"""Pure rules and value types (no I/O): naming, policies, passwords, product settings, params, usage rules, units,
the values drivers and use cases exchange. Imports nothing from the other layers."""
