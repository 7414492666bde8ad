"""Test helpers that play WHMCS's part around the stand-in: a service's $params, and storing what effects say.

WHMCS keeps the service's username and password (tblhosting) and passes them back in $params on every call; here a
`Service` object keeps them, updated from the `UpdateClientProduct` calls the real shim makes through `localAPI`.
"""

from __future__ import annotations

import base64
import itertools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig

from rig.sample_whmcs import insert_client, insert_product, insert_server, insert_service
from rig.services import MariaDB, MinIO
from rig.shim import ShimResult, run_shim

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_ids = itertools.count(random.randint(10_000, 90_000) * 10)


def next_id() -> int:
    return next(_ids)


@dataclass
class Service:
    minio: MinIO
    url: str
    secret: str
    serviceid: int = field(default_factory=next_id)
    clientid: int = field(default_factory=next_id)
    options: dict[int, str] = field(default_factory=dict)
    username: str = ""
    password: str = ""
    language: str = "english"
    serverid: int = 1
    firstname: str = "Test"
    accesshash: str = ""  # the server's Access Hash field: "backend=ostor" for the ostor gateway

    def params(self, **extra: Any) -> dict[str, Any]:
        p: dict[str, Any] = {
            "serviceid": self.serviceid, "userid": self.clientid, "pid": self.serviceid, "serverid": self.serverid,
            "domain": "",
            "username": self.username, "password": self.password, "producttype": "other", "moduletype": "s3bridge",
            "serverhostname": "127.0.0.1", "serverip": "127.0.0.1", "serverport": self.minio.port,
            "serversecure": "", "serverusername": self.minio.access_key, "serverpassword": self.minio.secret_key,
            "serveraccesshash": self.accesshash, "serverhttpprefix": "http",
            "clientsdetails": {"id": self.clientid, "firstname": self.firstname, "lastname": "Client",
                               "email": f"c{self.clientid}@example.com", "language": self.language},
            "configoptions": {}, "customfields": {},
        }  # fmt: skip
        for n in range(1, 25):
            p[f"configoption{n}"] = self.options.get(n, "")
        p.update(extra)
        return p

    def server_params(self) -> dict[str, Any]:
        """What WHMCS passes to UsageUpdate: the server's params only."""
        return {k: v for k, v in self.params().items() if k.startswith("server")}

    def register(self, db: MariaDB, database: str, status: str = "Active") -> None:
        """The WHMCS rows behind this service: its server (unless there), its client, its product (id = service id)
        and tblhosting."""
        conn = db.connect(database)
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM tblservers WHERE id = %s", (self.serverid,))
            if cur.fetchone() is None:
                secret = "standin-enc:" + base64.b64encode(self.minio.secret_key.encode()).decode()
                insert_server(conn, self.serverid, f"server {self.serverid}", "127.0.0.1", self.minio.port,
                              self.minio.access_key, secret, accesshash=self.accesshash)  # fmt: skip
            cur.execute("SELECT 1 FROM tblclients WHERE id = %s", (self.clientid,))
            known = cur.fetchone() is not None
        if not known:  # a client may own several services
            insert_client(conn, self.clientid, self.firstname, "Client", f"c{self.clientid}@example.com", self.language)
        insert_product(conn, self.serviceid, f"S3 plan {self.serviceid}", self.options)
        insert_service(conn, self.serviceid, self.clientid, self.serviceid, self.serverid, status)
        conn.close()

    def sync_product(self, db: MariaDB, database: str) -> None:
        conn = db.connect(database)
        with conn.cursor() as cur:
            cols = ", ".join(f"configoption{n} = %s" for n in range(1, 25))
            cur.execute(
                f"UPDATE tblproducts SET {cols} WHERE id = %s",  # noqa: S608
                [self.options.get(n, "") for n in range(1, 25)] + [self.serviceid],
            )
        conn.close()

    def call(
        self,
        function: str,
        *,
        apply_effects: bool = True,
        session: dict[str, Any] | None = None,
        shim: dict[str, Any] | None = None,
        **extra: Any,
    ) -> ShimResult:
        """Call the module function as WHMCS would; `session` says who is logged in ({"uid": client}); `shim` passes
        options to run_shim (context, request, render, php, ...)."""
        r = run_shim(function, self.params(**extra), url=self.url, secret=self.secret, session=session, **(shim or {}))
        if apply_effects:
            self.apply(r)
        return r

    def apply(self, r: ShimResult) -> None:
        for c in r.local_api:
            if c["command"] == "UpdateClientProduct" and int(c["values"]["serviceid"]) == self.serviceid:
                self.username = c["values"].get("serviceusername", self.username)
                self.password = c["values"].get("servicepassword", self.password)

    def s3(self, username: str | None = None, password: str | None = None) -> S3Client:
        """A stock S3 client (boto3) with the credentials WHMCS holds for this service."""
        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.minio.endpoint}",
            aws_access_key_id=username or self.username,
            aws_secret_access_key=password or self.password,
            region_name="us-east-1",
            config=BotoConfig(
                retries={"max_attempts": 1}, s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=20
            ),
        )
