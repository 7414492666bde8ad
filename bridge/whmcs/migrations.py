"""The daemon's own tables in the WHMCS database (all `mod_s3bridge_*`), created by `s3bridge migrate`.

Migrations are numbered and applied once each, in order, recorded in `mod_s3bridge_schema`; running `migrate` again
applies nothing. Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bridge.whmcs.db import Conn


def _present(
    cur: Any,
    view: Literal["COLUMNS", "STATISTICS"],
    name_column: Literal["COLUMN_NAME", "INDEX_NAME"],
    table: str,
    name: str,
) -> bool:
    """Whether this database's `table` has a column or key `name` (information_schema `view`, looked up by
    `name_column`): what makes a schema step safe to apply again after a migration stopped half-way."""
    cur.execute(
        f"SELECT 1 FROM information_schema.{view} WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"  # noqa: S608
        f" AND {name_column} = %s",
        (table, name),
    )
    return cur.fetchone() is not None


@dataclass(frozen=True)
class AddColumn:
    """ALTER TABLE ... ADD COLUMN, skipped when the column exists (MySQL 8 has no ADD COLUMN IF NOT EXISTS)."""

    table: str
    column: str
    definition: str

    def apply(self, conn: Conn) -> None:
        with conn.cursor() as cur:
            if not _present(cur, "COLUMNS", "COLUMN_NAME", self.table, self.column):
                cur.execute(f"ALTER TABLE `{self.table}` ADD COLUMN `{self.column}` {self.definition}")


@dataclass(frozen=True)
class AddIndex:
    """ALTER TABLE ... ADD KEY, skipped when the table has a key of that name (MySQL 8 has no ADD INDEX IF NOT
    EXISTS), so a migration stopped half-way applies again."""

    table: str
    name: str
    columns: tuple[str, ...]

    def apply(self, conn: Conn) -> None:
        with conn.cursor() as cur:
            if not _present(cur, "STATISTICS", "INDEX_NAME", self.table, self.name):
                keys = ", ".join(f"`{c}`" for c in self.columns)
                cur.execute(f"ALTER TABLE `{self.table}` ADD KEY `{self.name}` ({keys})")


@dataclass(frozen=True)
class FoldBucketHistory:
    """Migration 17's data step: each (service, day) of the per-bucket history table becomes that day's row's
    `bucket_figures` in `mod_s3bridge_usage_daily` (`bridge.whmcs.bucket_figures`' JSON, built by the server with
    JSON_QUOTE and GROUP_CONCAT: MySQL 8 and MariaDB alike), then that table goes. A day with bucket rows but no
    service row gets one, summed from its buckets. Safe to apply again: skipped once the old table is gone, and
    the fold only sets the column."""

    table: str = "mod_s3bridge_bucket_usage_daily"

    def apply(self, conn: Conn) -> None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                (self.table,),
            )
            if cur.fetchone() is None:
                return
            cur.execute("SET SESSION group_concat_max_len = 16777216")  # a day's breakdown, whatever its buckets
            cur.execute(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets, bucket_figures)"  # noqa: S608
                " SELECT serviceid, day, used_bytes, objects, buckets, bucket_figures FROM ("
                "SELECT serviceid, day, SUM(used_bytes) AS used_bytes, SUM(objects) AS objects, COUNT(*) AS buckets,"
                " CONCAT('{', GROUP_CONCAT(CONCAT(JSON_QUOTE(bucket), ':[', used_bytes, ',', objects, ']')"
                " ORDER BY bucket SEPARATOR ','), '}') AS bucket_figures"
                f" FROM `{self.table}` GROUP BY serviceid, day) AS folded"
                " ON DUPLICATE KEY UPDATE bucket_figures = VALUES(bucket_figures)"
            )
            cur.execute(f"DROP TABLE `{self.table}`")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str | AddColumn | AddIndex | FoldBucketHistory, ...]


SCHEMA_TABLE = "mod_s3bridge_schema"
_TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "services and audit log",
        (
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_services (
            serviceid INT UNSIGNED NOT NULL PRIMARY KEY,
            userid INT UNSIGNED NOT NULL,
            serverid INT UNSIGNED NOT NULL,
            backend VARCHAR(32) NOT NULL,
            username VARCHAR(128) NOT NULL,
            state VARCHAR(32) NOT NULL,
            policy VARCHAR(16) NOT NULL DEFAULT 'standard',
            grp VARCHAR(64) NOT NULL DEFAULT '',
            created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
            UNIQUE KEY server_username (serverid, username),
            KEY userid (userid)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_audit (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            request_id VARCHAR(64) NOT NULL,
            action VARCHAR(64) NOT NULL,
            serviceid INT UNSIGNED NULL,
            outcome VARCHAR(32) NOT NULL,
            detail TEXT NOT NULL,
            KEY at (at),
            KEY serviceid (serviceid)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        2,
        "usage history and limit state",
        (
            AddColumn("mod_s3bridge_services", "used_bytes", "BIGINT UNSIGNED NOT NULL DEFAULT 0"),
            AddColumn("mod_s3bridge_services", "usage_at", "DATETIME NULL"),
            AddColumn("mod_s3bridge_services", "usage_exact", "TINYINT(1) NOT NULL DEFAULT 0"),
            AddColumn("mod_s3bridge_services", "warned", "TINYINT(1) NOT NULL DEFAULT 0"),
            AddColumn("mod_s3bridge_services", "over_limit", "TINYINT(1) NOT NULL DEFAULT 0"),
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_usage_daily (
            serviceid INT UNSIGNED NOT NULL,
            day DATE NOT NULL,
            used_bytes BIGINT UNSIGNED NOT NULL,
            objects BIGINT UNSIGNED NOT NULL,
            buckets INT UNSIGNED NOT NULL,
            sent_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
            received_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
            PRIMARY KEY (serviceid, day),
            KEY day (day)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_bucket_usage_daily (
            serviceid INT UNSIGNED NOT NULL,
            bucket VARCHAR(63) NOT NULL,
            day DATE NOT NULL,
            used_bytes BIGINT UNSIGNED NOT NULL,
            objects BIGINT UNSIGNED NOT NULL,
            sent_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
            received_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
            PRIMARY KEY (serviceid, day, bucket),
            KEY day (day)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        3,
        "access keys and traffic statistics",
        (
            AddColumn("mod_s3bridge_services", "access_key", "VARCHAR(128) NOT NULL DEFAULT ''"),
            AddColumn("mod_s3bridge_services", "pending_access_key", "VARCHAR(128) NOT NULL DEFAULT ''"),
            AddColumn("mod_s3bridge_services", "backend_user_id", "VARCHAR(128) NOT NULL DEFAULT ''"),
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_traffic (
            source VARCHAR(255) NOT NULL,
            owner_id VARCHAR(128) NOT NULL,
            bucket VARCHAR(63) NOT NULL,
            serverid INT UNSIGNED NOT NULL,
            period_start DATETIME NOT NULL,
            period_s INT UNSIGNED NOT NULL,
            ops_put BIGINT UNSIGNED NOT NULL,
            ops_get BIGINT UNSIGNED NOT NULL,
            ops_list BIGINT UNSIGNED NOT NULL,
            ops_other BIGINT UNSIGNED NOT NULL,
            bytes_in BIGINT UNSIGNED NOT NULL,
            bytes_out BIGINT UNSIGNED NOT NULL,
            collected_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (source, owner_id, bucket),
            KEY owner_period (serverid, owner_id, period_start)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        4,
        "statistics objects the gateway keeps because they could not be read",
        (
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_traffic_unreadable (
            serverid INT UNSIGNED NOT NULL,
            source VARCHAR(255) NOT NULL,
            first_seen DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            last_seen DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (serverid, source)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        5,
        "panel API tokens and service events",
        (
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_api_tokens (
            token_id CHAR(12) NOT NULL PRIMARY KEY,
            kind VARCHAR(8) NOT NULL,
            clientid INT UNSIGNED NULL,
            name VARCHAR(64) NOT NULL DEFAULT '',
            secret_sha256 CHAR(64) NOT NULL,
            created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            last_used_at DATETIME NULL,
            revoked_at DATETIME NULL,
            KEY clientid (clientid)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_events (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            serviceid INT UNSIGNED NOT NULL,
            at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            event VARCHAR(64) NOT NULL,
            detail VARCHAR(500) NOT NULL DEFAULT '',
            actor VARCHAR(64) NOT NULL DEFAULT '',
            KEY service_at (serviceid, at)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        6,
        "state shared by several daemons; usage written only where it changed",
        (
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_nonces (
            nonce CHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
            seen_at BIGINT NOT NULL,
            KEY seen_at (seen_at)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_pending (
            serviceid INT UNSIGNED NOT NULL PRIMARY KEY,
            sealed VARBINARY(1024) NOT NULL,
            expires_at BIGINT NOT NULL
        ) {_TABLE_OPTIONS}""",
            AddColumn("mod_s3bridge_services", "usage_digest", "CHAR(32) NOT NULL DEFAULT ''"),
            AddColumn("mod_s3bridge_services", "history_day", "DATE NULL"),
        ),
    ),
    Migration(
        7,
        "traffic metering",
        (
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_traffic_daily (
            serviceid INT UNSIGNED NOT NULL,
            day DATE NOT NULL,
            bytes_in BIGINT UNSIGNED NOT NULL DEFAULT 0,
            bytes_out BIGINT UNSIGNED NOT NULL DEFAULT 0,
            req_read BIGINT UNSIGNED NOT NULL DEFAULT 0,
            req_write BIGINT UNSIGNED NOT NULL DEFAULT 0,
            req_list BIGINT UNSIGNED NOT NULL DEFAULT 0,
            req_delete BIGINT UNSIGNED NOT NULL DEFAULT 0,
            req_other BIGINT UNSIGNED NOT NULL DEFAULT 0,
            PRIMARY KEY (serviceid, day),
            KEY day (day)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_audit_seen (
            serverid INT UNSIGNED NOT NULL,
            event_key BINARY(16) NOT NULL,
            batch BIGINT UNSIGNED NOT NULL,
            seen_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (serverid, event_key),
            KEY batch (batch),
            KEY seen_at (seen_at)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_disk_writes (
            serviceid INT UNSIGNED NOT NULL,
            minute DATETIME NOT NULL,
            written BIGINT UNSIGNED NOT NULL DEFAULT 0,
            deleted BIGINT UNSIGNED NOT NULL DEFAULT 0,
            PRIMARY KEY (serviceid, minute)
        ) {_TABLE_OPTIONS}""",
            AddColumn("mod_s3bridge_services", "figure_at", "DATETIME NULL"),
            AddColumn("mod_s3bridge_services", "figure_source", "VARCHAR(16) NOT NULL DEFAULT 'scan'"),
            AddColumn("mod_s3bridge_services", "decided_by", "VARCHAR(16) NOT NULL DEFAULT ''"),
            AddColumn("mod_s3bridge_services", "decided_bytes", "BIGINT UNSIGNED NOT NULL DEFAULT 0"),
            AddColumn("mod_s3bridge_services", "decided_at", "DATETIME NULL"),
        ),
    ),
    Migration(
        8,
        "ostor traffic summed per service and day",
        (
            # Version 3's table is keyed (source, owner_id, bucket) and was written with INSERT IGNORE: a statistics
            # object naming one bucket twice (other epoch or tag) lost the second row. Its rows are copied (summed)
            # and it is read no more; the collector writes here, one row per (object, user, day).
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_traffic_sums (
            serverid INT UNSIGNED NOT NULL,
            owner_id VARCHAR(128) NOT NULL,
            day DATE NOT NULL,
            source VARCHAR(255) NOT NULL,
            period_start DATETIME NOT NULL,
            period_s INT UNSIGNED NOT NULL,
            ops_put BIGINT UNSIGNED NOT NULL,
            ops_get BIGINT UNSIGNED NOT NULL,
            ops_list BIGINT UNSIGNED NOT NULL,
            ops_other BIGINT UNSIGNED NOT NULL,
            bytes_in BIGINT UNSIGNED NOT NULL,
            bytes_out BIGINT UNSIGNED NOT NULL,
            collected_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (serverid, owner_id, day, source),
            KEY server_day (serverid, day)
        ) {_TABLE_OPTIONS}""",
            """INSERT INTO mod_s3bridge_traffic_sums (serverid, owner_id, day, source, period_start, period_s,
            ops_put, ops_get, ops_list, ops_other, bytes_in, bytes_out)
            SELECT serverid, owner_id, DATE(period_start), source, MIN(period_start), MAX(period_s), SUM(ops_put),
            SUM(ops_get), SUM(ops_list), SUM(ops_other), SUM(bytes_in), SUM(bytes_out) FROM mod_s3bridge_traffic
            GROUP BY serverid, owner_id, DATE(period_start), source
            ON DUPLICATE KEY UPDATE ops_put = VALUES(ops_put), ops_get = VALUES(ops_get),
            ops_list = VALUES(ops_list), ops_other = VALUES(ops_other), bytes_in = VALUES(bytes_in),
            bytes_out = VALUES(bytes_out)""",
        ),
    ),
    Migration(
        9,
        "drift findings and daemon heartbeats",
        (
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_drift (
            serverid INT UNSIGNED NOT NULL,
            kind VARCHAR(32) NOT NULL,
            subject VARCHAR(128) NOT NULL,
            serviceid INT UNSIGNED NULL,
            expected VARCHAR(128) NOT NULL DEFAULT '',
            actual VARCHAR(128) NOT NULL DEFAULT '',
            repair VARCHAR(32) NOT NULL DEFAULT '',
            first_seen DATETIME NOT NULL,
            last_seen DATETIME NOT NULL,
            PRIMARY KEY (serverid, kind, subject),
            KEY serviceid (serviceid)
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_reconcile_runs (
            serverid INT UNSIGNED NOT NULL PRIMARY KEY,
            finished_at DATETIME NOT NULL,
            duration_ms INT UNSIGNED NOT NULL DEFAULT 0,
            findings INT UNSIGNED NOT NULL DEFAULT 0,
            repaired INT UNSIGNED NOT NULL DEFAULT 0,
            error VARCHAR(255) NOT NULL DEFAULT ''
        ) {_TABLE_OPTIONS}""",
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_daemons (
            daemon_id VARCHAR(64) NOT NULL PRIMARY KEY,
            hostname VARCHAR(255) NOT NULL DEFAULT '',
            pid INT UNSIGNED NOT NULL DEFAULT 0,
            version VARCHAR(32) NOT NULL DEFAULT '',
            started_at DATETIME NOT NULL,
            last_seen DATETIME NOT NULL,
            stopped_at DATETIME NULL,
            KEY last_seen (last_seen)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        10,
        "native quotas the module set",
        (
            # NULL for services made before: whatever quota the server holds counts as the module's (as before).
            AddColumn("mod_s3bridge_services", "quota_gb", "INT UNSIGNED NULL DEFAULT NULL"),
            AddColumn("mod_s3bridge_services", "bucket_quota_gb", "INT UNSIGNED NULL DEFAULT NULL"),
        ),
    ),
    Migration(
        11,
        "the module's own servers, as a view",
        (
            # MySQL has no row-level rights: this view (run with its definer's rights, the account that migrates)
            # holds only this module's tblservers rows, and the daemon's user reads it instead of the table, so it
            # never sees another module's server passwords. SELECT only (grants.py): the view is not written.
            """CREATE OR REPLACE SQL SECURITY DEFINER VIEW mod_s3bridge_servers AS
            SELECT id, name, hostname, ipaddress, username, password, accesshash, secure, port, type, disabled
            FROM tblservers WHERE type = 's3bridge'""",
        ),
    ),
    Migration(
        12,
        "metering: refused requests, servers the meter enforces on after a restart",
        (
            AddColumn("mod_s3bridge_traffic_daily", "req_refused", "BIGINT UNSIGNED NOT NULL DEFAULT 0"),
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_meter_servers (
            serverid INT UNSIGNED NOT NULL PRIMARY KEY,
            sealed VARBINARY(8192) NOT NULL,
            updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        13,
        "the first bucket named in a panel order",
        (
            # WHMCS's order has no hidden field for it (its `domain` shows as a website): CreateAccount of the
            # client's next new service of the product takes the oldest waiting row and binds it (order_store.py).
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_orders (
                id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                clientid INT UNSIGNED NOT NULL,
                packageid INT UNSIGNED NOT NULL,
                bucket_suffix VARCHAR(63) NOT NULL,
                serviceid INT UNSIGNED NULL DEFAULT NULL,
                created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
                UNIQUE KEY taken_by (serviceid),
                KEY waiting (clientid, packageid, serviceid)
            ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        14,
        "the last usage run of each server, for the fleet console",
        (
            # One row per server and kind ('daily' UsageUpdate, 'check' AfterCronJob): when it ended, how long it
            # took, ok or the error code. No per-server place held it: services carry figures, not runs.
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_usage_runs (
            serverid INT UNSIGNED NOT NULL,
            kind VARCHAR(16) NOT NULL,
            finished_at DATETIME NOT NULL,
            duration_ms INT UNSIGNED NOT NULL DEFAULT 0,
            result VARCHAR(64) NOT NULL DEFAULT 'ok',
            PRIMARY KEY (serverid, kind)
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        15,
        "what the fleet console's Servers page needs from every daemon: counters and the meter's state",
        (
            # Each daemon adds, with its heartbeat, the calls it refused and answered 'overloaded' to the minute's
            # row: "in the last hour" is a sum over every daemon's rows. Rows older than two hours are pruned.
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_fleet_minutes (
            daemon_id VARCHAR(64) NOT NULL,
            minute DATETIME NOT NULL,
            refused INT UNSIGNED NOT NULL DEFAULT 0,
            overloaded INT UNSIGNED NOT NULL DEFAULT 0,
            PRIMARY KEY (daemon_id, minute),
            KEY by_minute (minute)
        ) {_TABLE_OPTIONS}""",
            # The meter of each daemon, per server it takes audit posts for: the newest audit event, the lag of
            # the last batch written, the entries dropped since the daemon started. Kept as long as heartbeats.
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_meter_status (
            daemon_id VARCHAR(64) NOT NULL,
            serverid INT UNSIGNED NOT NULL,
            last_event_at DATETIME(3) NULL DEFAULT NULL,
            lag_ms INT UNSIGNED NOT NULL DEFAULT 0,
            dropped BIGINT UNSIGNED NOT NULL DEFAULT 0,
            updated_at DATETIME NOT NULL,
            PRIMARY KEY (daemon_id, serverid),
            KEY by_server (serverid)
        ) {_TABLE_OPTIONS}""",
            # Enable Traffic Metering succeeded for the server: where its audit webhook points, and when.
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_metering (
            serverid INT UNSIGNED NOT NULL PRIMARY KEY,
            endpoint VARCHAR(255) NOT NULL,
            configured_at DATETIME NOT NULL
        ) {_TABLE_OPTIONS}""",
        ),
    ),
    Migration(
        16,
        "the fleet console's Accounts lists read the month's daily rows from covering keys",
        (
            # The 30-day growth reads each service's first daily figure inside the window, and the traffic list
            # sums this month's rows: both from a key that starts at the day and holds the figures, so they read
            # the window's entries (contiguous, cached) instead of diving into every service's whole history (365
            # days by default) in the clustered rows.
            AddIndex("mod_s3bridge_usage_daily", "day_figures", ("day", "serviceid", "used_bytes")),
            AddIndex("mod_s3bridge_traffic_daily", "day_figures", ("day", "serviceid", "bytes_in", "bytes_out")),
        ),
    ),
    Migration(
        17,
        "a service's bucket breakdown of the day lives in its daily usage row",
        (
            # One row per service and day instead of one more per bucket: the day's first usage run writes, and
            # its retention trim deletes, half the rows or fewer (issue 23: the new day's share was row work).
            AddColumn("mod_s3bridge_usage_daily", "bucket_figures", "MEDIUMTEXT NULL"),
            FoldBucketHistory(),
        ),
    ),
)


def _ensure_schema_table(conn: Conn) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"""CREATE TABLE IF NOT EXISTS mod_s3bridge_schema (
                version INT UNSIGNED NOT NULL PRIMARY KEY,
                name VARCHAR(128) NOT NULL,
                applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
            ) {_TABLE_OPTIONS}"""
        )


def applied_versions(conn: Conn) -> set[int]:
    _ensure_schema_table(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM mod_s3bridge_schema")
        return {int(row["version"]) for row in cur.fetchall()}


def migrate(conn: Conn) -> list[Migration]:
    """Apply what is missing; return what was applied (empty when up to date).

    A named lock serializes concurrent `migrate` runs. MySQL commits DDL implicitly, so each migration's
    statements are idempotent (IF NOT EXISTS, AddColumn) and the version row is written after them. Plain MySQL 8
    syntax only (no MariaDB-only forms), as WHMCS runs on both.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK('mod_s3bridge_migrate', 30) AS got")
        row = cur.fetchone()
        if not row or row["got"] != 1:
            raise RuntimeError("another s3bridge migrate holds the migration lock for more than 30 s")
    try:
        done = applied_versions(conn)
        applied = []
        for m in MIGRATIONS:
            if m.version in done:
                continue
            for statement in m.statements:
                if isinstance(statement, str):
                    with conn.cursor() as cur:
                        cur.execute(statement)
                else:
                    statement.apply(conn)
            with conn.cursor() as cur:
                cur.execute("INSERT INTO mod_s3bridge_schema (version, name) VALUES (%s, %s)", (m.version, m.name))
            conn.commit()
            applied.append(m)
        return applied
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT RELEASE_LOCK('mod_s3bridge_migrate')")
