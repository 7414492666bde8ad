"""A small sample WHMCS database for the demo: a client, a server record, an S3 product and one service.

Rows are inserted with every NOT NULL column WHMCS defines, the way WHMCS itself writes them.
"""

from __future__ import annotations

import html
from typing import Any

from rig.services import MariaDB

CLIENT_TEXT_COLUMNS = (
    "companyname",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "phonenumber",
    "password",
    "authmodule",
    "authdata",
    "defaultgateway",
    "notes",
    "securityqans",
    "cardlastfour",
    "bankname",
    "banktype",
    "gatewayid",
    "ip",
    "host",
    "pwresetkey",
)
CLIENT_BLOB_COLUMNS = ("cardnum", "startdate", "expdate", "issuenumber", "bankcode", "bankacct")
CLIENT_INT_COLUMNS = (
    "currency",
    "taxexempt",
    "latefeeoveride",
    "overideduenotices",
    "separateinvoices",
    "disableautocc",
    "billingcid",
    "securityqid",
    "groupid",
    "emailoptout",
    "overrideautoclose",
)


def insert_client(conn: Any, client_id: int, firstname: str, lastname: str, email: str, language: str = "") -> None:
    cols: dict[str, Any] = {
        "id": client_id,
        "firstname": firstname,
        "lastname": lastname,
        "email": email,
        "language": language,
        "credit": 0,
        "datecreated": "2026-01-01",
    }
    cols.update(dict.fromkeys(CLIENT_TEXT_COLUMNS, ""))
    cols.update(dict.fromkeys(CLIENT_BLOB_COLUMNS, b""))
    cols.update(dict.fromkeys(CLIENT_INT_COLUMNS, 0))
    cols["currency"] = 1
    _insert_lenient(conn, "tblclients", cols)


def insert_server(
    conn: Any,
    server_id: int,
    name: str,
    host: str,
    port: int,
    access_key: str,
    password: str = "(encrypted by WHMCS)",  # noqa: S107 - a placeholder, not a secret
    accesshash: str = "",
    secure: str = "",
) -> None:
    # WHMCS stores the password encrypted with its own scheme; the daemon never reads it from here. Its text columns
    # are stored HTML-encoded (WHMCS encodes its input; DESIGN.md "What a real WHMCS does"), so are they here.
    _insert_lenient(
        conn,
        "tblservers",
        {
            "id": server_id,
            "name": html.escape(name),
            "ipaddress": html.escape(host),
            "assignedips": "",
            "hostname": html.escape(host),
            "monthlycost": 0,
            "noc": "",
            "statusaddress": "",
            "nameserver1": "",
            "nameserver1ip": "",
            "nameserver2": "",
            "nameserver2ip": "",
            "nameserver3": "",
            "nameserver3ip": "",
            "nameserver4": "",
            "nameserver4ip": "",
            "nameserver5": "",
            "nameserver5ip": "",
            "maxaccounts": 200,
            "type": "s3bridge",
            "username": html.escape(access_key),
            "password": password,
            "accesshash": html.escape(accesshash),
            "secure": secure,
            "port": port,
            "active": 1,
            "disabled": 0,
        },
    )


def insert_product(conn: Any, product_id: int, name: str, options: dict[int, str]) -> None:
    cols: dict[str, Any] = {
        "id": product_id,
        "type": "other",
        "gid": 1,
        "name": name,
        "description": "",
        "servertype": "s3bridge",
        "servergroup": 1,
    }
    for i in range(1, 25):
        cols[f"configoption{i}"] = options.get(i, "")
    _insert_lenient(conn, "tblproducts", cols)


def insert_service(
    conn: Any, service_id: int, client_id: int, product_id: int, server_id: int, status: str = "Active"
) -> None:
    _insert_lenient(
        conn,
        "tblhosting",
        {
            "id": service_id,
            "userid": client_id,
            "orderid": 0,
            "packageid": product_id,
            "server": server_id,
            "regdate": "2026-01-01",
            "domain": "",
            "paymentmethod": "banktransfer",
            "firstpaymentamount": 0,
            "amount": 0,
            "billingcycle": "Monthly",
            "nextduedate": "2026-12-01",
            "nextinvoicedate": "2026-12-01",
            "domainstatus": status,
            "username": "",
            "password": "",
            "notes": "",
            "subscriptionid": "",
            "suspendreason": "",
            "dedicatedip": "",
            "assignedips": "",
            "ns1": "",
            "ns2": "",
        },
    )


def _insert(conn: Any, table: str, cols: dict[str, Any]) -> None:
    names = ", ".join(f"`{c}`" for c in cols)
    marks = ", ".join(["%s"] * len(cols))
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", tuple(cols.values()))  # noqa: S608


def _insert_lenient(conn: Any, table: str, cols: dict[str, Any]) -> None:
    """Fill every other NOT NULL column without a default with its type's empty value, as WHMCS's ORM does."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            " AND TABLE_NAME = %s AND IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL AND EXTRA = ''",
            (table,),
        )
        for row in cur.fetchall():
            name, kind = row["COLUMN_NAME"], row["DATA_TYPE"]
            if name in cols:
                continue
            if kind in {"int", "tinyint", "smallint", "bigint", "decimal", "float", "double"}:
                cols[name] = 0
            elif kind == "date":
                cols[name] = "0000-00-00"
            elif kind in {"datetime", "timestamp"}:
                cols[name] = "0000-00-00 00:00:00"
            else:
                cols[name] = ""
    _insert(conn, table, cols)


def load_sample(db: MariaDB, database: str, minio_host: str, minio_port: int, access_key: str) -> None:
    conn = db.connect(database)
    insert_client(conn, 7, "Ada", "Lovelace", "ada@example.com", "english")
    insert_server(conn, 1, "Local MinIO", minio_host, minio_port, access_key)
    insert_product(conn, 1, "S3 Storage 10 GB", {1: "minio", 2: "10", 3: "GB"})
    insert_service(conn, 55, 7, 1, 1)
    conn.close()
