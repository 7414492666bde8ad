"""All that reads or writes the WHMCS database: the pool, migrations, grants, service records, the usage store, the
view store, the audit log. Imports `domain` only."""
