"""The least-privilege grants of the daemon's database user (pure: builds SQL text, runs nothing).

SELECT on the WHMCS tables it reads (tblclients: only the columns it uses, never password hashes, `authdata`,
security answers, card or bank data, gateway ids; tblservers: only this module's rows, through the view
`mod_s3bridge_servers` that `migrate` creates), UPDATE on tblhosting's usage columns only, INSERT on tblnotes,
DELETE on tblcancelrequests (withdrawing the panel's own requests), and full rights on its own mod_s3bridge_* tables.
`s3bridge grants` prints them for the DBA; the rig applies them in tests (so every test runs with them).
"""

from __future__ import annotations

import re

from bridge.whmcs.migrations import MIGRATIONS, SCHEMA_TABLE, FoldBucketHistory

WHMCS_TABLES_READ = (
    "tblhosting", "tblproducts", "tblcustomfields", "tblcustomfieldsvalues",
    "tblconfiguration", "tblemailtemplates", "tblservergroups", "tblservergroupsrel", "tblcurrencies",
    "tblpricing", "tblnotes", "tblmetric_usage", "tblcancelrequests",
)  # fmt: skip
USAGE_COLUMNS = ("diskusage", "disklimit", "bwusage", "bwlimit", "lastupdate")
# What the pages, emails, the panel and its tokens use of a client: name, email, language, currency, the default
# gateway's name (panel orders) and the status (a closed client's tokens are refused). A query naming any other
# column fails with "SELECT command denied ... for column": add it here only if it is shown or decided on.
CLIENT_COLUMNS = ("id", "firstname", "lastname", "companyname", "email", "language", "currency", "defaultgateway",
                  "status")  # fmt: skip

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS\s+`?(mod_s3bridge_[a-z0-9_]+)`?", re.I)
_VIEW = re.compile(r"CREATE OR REPLACE SQL SECURITY DEFINER VIEW\s+`?(mod_s3bridge_[a-z0-9_]+)`?", re.I)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def own_tables() -> list[str]:
    """The module's tables as the migrations leave them: those created, less those a later migration dropped."""
    names = [SCHEMA_TABLE]
    dropped = set()
    for migration in MIGRATIONS:
        for statement in migration.statements:
            if isinstance(statement, str):
                names += [m.group(1) for m in _CREATE.finditer(statement) if m.group(1) not in names]
            elif isinstance(statement, FoldBucketHistory):
                dropped.add(statement.table)
    return [name for name in names if name not in dropped]


def own_views() -> list[str]:
    """Views over WHMCS's tables limited to this module's rows (tblservers): read, never written."""
    statements = [st for mig in MIGRATIONS for st in mig.statements if isinstance(st, str)]
    return [m.group(1) for st in statements for m in _VIEW.finditer(st)]


def grant_statements(database: str, user: str, host: str) -> list[str]:
    for what, value in (("database", database), ("user", user), ("host", host)):
        if not _NAME.match(value):
            raise ValueError(f"{what} name {value!r} must be 1-64 letters, digits, '_', '.' or '-'")
    who = f"'{user}'@'{host}'"
    statements = [f"GRANT SELECT ON `{database}`.`{t}` TO {who}" for t in WHMCS_TABLES_READ]
    statements.append(f"GRANT SELECT ({', '.join(CLIENT_COLUMNS)}) ON `{database}`.`tblclients` TO {who}")
    statements.append(f"GRANT UPDATE ({', '.join(USAGE_COLUMNS)}) ON `{database}`.`tblhosting` TO {who}")
    statements.append(f"GRANT INSERT ON `{database}`.`tblnotes` TO {who}")
    # the panel's cancel_payment_account_deletion: WHMCS's API can add a cancellation request but not withdraw one
    statements.append(f"GRANT DELETE ON `{database}`.`tblcancelrequests` TO {who}")
    # ... and WHMCS's own activity-log line for it ("Removed Automatic Cancellation"), as WHMCS writes one
    statements.append(f"GRANT INSERT ON `{database}`.`tblactivitylog` TO {who}")
    statements += [f"GRANT ALL PRIVILEGES ON `{database}`.`{t}` TO {who}" for t in own_tables()]
    statements += [f"GRANT SELECT ON `{database}`.`{v}` TO {who}" for v in own_views()]
    return statements
