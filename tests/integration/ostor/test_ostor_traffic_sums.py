"""ostor statistics rows are summed per (object, user, day) before they are stored: a statistics object may name one
bucket twice (another epoch or tag), and no row may be lost (the traffic would be under-billed, then the object is
deleted from the gateway). Checked on the guide's own sample (seeds/001_..., l.3349-3351) through the real parser,
the real store and the daily roll-up in MariaDB."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from bridge.backends.ostor.answers import parse_usage_object
from bridge.domain.traffic import sum_per_owner_day, utc_day
from bridge.whmcs.db import Database
from bridge.whmcs.meter_store import MeterStore
from bridge.whmcs.usage_store import UsageStore
from rig.services import MariaDB
from tests.conftest import make_config, write_config
from tests.support.whmcs_role import next_id

# The guide's WHMCS sample "S3 Statistics for Object: s3-usage-800000000000017-2017-03-21T12:38:36.000Z-1800",
# l.3349-3351, as its table prints them (fmt_version, service_id, start_ts, period, bucket, epoch, user_id, tag,
# put, get, list, other, uploaded, downloaded). The sample leaves user_id empty; the user here is given one.
GUIDE_ROWS = """\
1\t8000000000000017\t1490099916\t1828\tclient\t98305\t\t\t6\t0\t12\t0\t987604\t0
1\t8000000000000017\t1490099916\t1828\tclient\t90113\t\t\t0\t0\t4\t0\t0\t0
1\t8000000000000017\t1490099916\t1828\t\t0\t\t\t1\t9\t0\t0\t153\t0"""
SOURCE = "s3-usage-800000000000017-2017-03-21T12:38:36.000Z-1800"


def guide_object(user_id: str) -> dict[str, Any]:
    """The sample's rows as the statistics object the gateway serves (guide l.1103-1140's layout)."""
    rows = [line.split("\t") for line in GUIDE_ROWS.splitlines()]
    items = [
        {
            "key": {"bucket": r[4], "epoch": int(r[5]), "user_id": user_id, "tag": r[7]},
            "counters": {
                "ops": {"put": int(r[8]), "get": int(r[9]), "list": int(r[10]), "other": int(r[11])},
                "net_io": {"uploaded": int(r[12]), "downloaded": int(r[13])},
            },
        }
        for r in rows
    ]
    first = rows[0]
    return {"fmt_version": 1, "service_id": int(first[1]), "start_ts": int(first[2]), "period": int(first[3]),
            "nr_items": len(items), "items": items}  # fmt: skip


def column_sums() -> dict[str, int]:
    rows = [line.split("\t") for line in GUIDE_ROWS.splitlines()]
    names = ("ops_put", "ops_get", "ops_list", "ops_other", "bytes_in", "bytes_out")
    return {n: sum(int(r[8 + i]) for r in rows) for i, n in enumerate(names)}


def test_the_guides_sample_with_bucket_client_twice_sums_every_row_into_one_user_day() -> None:
    records = parse_usage_object(SOURCE, guide_object("b81d6c5f895a8c86"))
    assert [r.bucket for r in records] == ["client", "client", ""]  # the repeat the old key dropped
    [total] = sum_per_owner_day(records)
    assert (total.owner_id, total.day, total.source) == ("b81d6c5f895a8c86", "2017-03-21", SOURCE)
    assert {n: getattr(total, n) for n in column_sums()} == column_sums()


def test_rows_of_two_users_or_two_days_stay_apart() -> None:
    records = parse_usage_object(SOURCE, guide_object("aaaa"))
    other = parse_usage_object(SOURCE, guide_object("bbbb"))
    next_day = [r.__class__(**{**r.__dict__, "period_start": r.period_start + 86400}) for r in records]
    sums = sum_per_owner_day([*records, *other, *next_day])
    assert [(s.owner_id, s.day) for s in sums] == [("aaaa", "2017-03-21"), ("bbbb", "2017-03-21"),
                                                    ("aaaa", "2017-03-22")]  # fmt: skip


@pytest.mark.parametrize(("unix_s", "day"), [(0, "1970-01-01"), (86399, "1970-01-01"), (1490099916, "2017-03-21")])
def test_utc_day(unix_s: int, day: str) -> None:
    assert utc_day(unix_s) == day


@pytest.mark.mariadb
def test_the_guides_sample_is_stored_and_billed_in_full_and_storing_it_again_adds_nothing(
    config: Any, mariadb: MariaDB, whmcs_db: str
) -> None:
    serverid, serviceid, owner = next_id(), next_id(), f"guide{next_id():011x}"
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state,"
            " backend_user_id) VALUES (%s, 1, %s, 'ostor', %s, 'active', %s)",
            (serviceid, serverid, f"u{serviceid}", owner),
        )
    conn.commit()
    records = parse_usage_object(SOURCE, json.loads(json.dumps(guide_object(owner))))

    async def collect_twice() -> None:
        db = Database(config.whmcs_db)
        try:
            for _ in range(2):  # a crash between the commit and the gateway's DELETE: the object comes again
                await UsageStore(db).store_traffic(serverid, SOURCE, records)
                await MeterStore(db).rollup_ostor(serverid, date(2017, 3, 1))
        finally:
            db.close()

    asyncio.run(collect_twice())
    with conn.cursor() as cur:
        cur.execute(
            "SELECT day, bytes_in, bytes_out, req_read, req_write, req_list, req_other"
            " FROM mod_s3bridge_traffic_daily WHERE serviceid = %s",
            (serviceid,),
        )
        [row] = cur.fetchall()
    want = column_sums()
    assert row["day"] == date(2017, 3, 21)
    assert (row["bytes_in"], row["bytes_out"]) == (want["bytes_in"], want["bytes_out"])
    assert (row["req_read"], row["req_write"], row["req_list"], row["req_other"]) == (
        want["ops_get"], want["ops_put"], want["ops_list"], want["ops_other"],
    )  # fmt: skip


@pytest.mark.mariadb
def test_migration_8_copies_version_3_rows_summed_per_user_and_day(mariadb: MariaDB) -> None:
    """An install that collected with version 3's table keeps what it had: migrating sums its rows into the new
    table (one object, one user, two buckets: one row)."""
    db = "whmcs_traffic_sums"
    mariadb.create_whmcs_database(db)
    cfg = write_config(make_config(mariadb, db, user="root", password=mariadb.root_password))
    migrate = [sys.executable, "-m", "bridge", "migrate", "--config", str(cfg)]
    subprocess.run(migrate, check=True, capture_output=True)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:  # as if only versions 1-7 had run and version 3's table held one object
        cur.execute("DELETE FROM mod_s3bridge_schema WHERE version = 8")
        cur.execute("DROP TABLE mod_s3bridge_traffic_sums")
        cur.executemany(
            "INSERT INTO mod_s3bridge_traffic (source, owner_id, bucket, serverid, period_start, period_s, ops_put,"
            " ops_get, ops_list, ops_other, bytes_in, bytes_out) VALUES (%s, 'u1', %s, 7, '2017-03-21 12:38:36',"
            " 1828, %s, %s, %s, 0, %s, 0)",
            [(SOURCE, "client", 6, 0, 12, 987604), (SOURCE, "", 1, 9, 0, 153)],
        )
    conn.commit()
    again = subprocess.run(migrate, check=True, capture_output=True, text=True)
    assert "applied migration 8" in again.stdout
    with conn.cursor() as cur:
        cur.execute("SELECT owner_id, day, ops_put, ops_get, ops_list, bytes_in FROM mod_s3bridge_traffic_sums")
        rows = cur.fetchall()
    assert [(r["owner_id"], str(r["day"]), r["ops_put"], r["ops_get"], r["ops_list"], r["bytes_in"]) for r in rows] == [
        ("u1", "2017-03-21", 7, 9, 12, 987757)
    ]
