"""Hostile customers (issue 18, items 5 and 6): no secret the module hands out reaches WHMCS's module log.

Admins turn Module Debug Mode on exactly when calls time out, and tblmodulelog is read by every admin with the
"View Module Debug Log" permission. Every answer that carries a secret (a new or pending password, a key pair, a
secret key, an API token) marks it as a `Secret`, which the answer lists for the shim to mask. Here every function's
answers are walked through the real shim (stand-in WHMCS writing tblmodulelog as WHMCS does) on real MinIO, the
ostor emulator (a stand-in) and MariaDB, and no secret may be found in tblmodulelog.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.domain.panel.methods import METHODS
from bridge.domain.secret import SECRET_FIELDS
from rig.shim import ShimResult
from tests.conftest import CANARY_HMAC
from tests.support.ostor_gateway import Gateway
from tests.support.panel_rig import PanelStack
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
TOKEN = "5e55104c5f7a0c3e9d1b2a4f6e8d0c1b3a5f7e9d"  # WHMCS's CSRF token of the session (a test value, not a secret)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.stop()


class Whmcs:
    """WHMCS with Module Debug Mode on: every shim call's masked texts land in tblmodulelog; the secrets it saw
    are gathered from what WHMCS was handed (effects) and from the unmasked answers."""

    def __init__(self, stack: PanelStack) -> None:
        self.stack = stack
        self.env = {
            "STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={stack.mariadb.port};dbname={stack.database}",
            "STANDIN_DB_USER": "root",
            "STANDIN_DB_PASSWORD": stack.mariadb.root_password,
        }
        self.first_row = int(stack.sql("SELECT COALESCE(MAX(id), 0) AS n FROM tblmodulelog")[0]["n"])
        self.secrets: set[str] = {stack.minio.secret_key, CANARY_HMAC}
        self.calls: list[str] = []

    def call(self, svc: Service, function: str, *, apply: bool = True, **kw: Any) -> ShimResult:
        shim = {"db_env": self.env, **kw.pop("shim", {})}
        r = svc.call(function, apply_effects=apply, shim=shim, **kw)
        self.gather(r)
        self.calls.append(function)
        return r

    def panel(self, svc: Service, action: str, **fields: Any) -> ShimResult:
        """A form of the storage tabs posted by the logged-in owner, with WHMCS's token."""
        request = {"method": "POST", "post": {"s3action": action, "token": TOKEN, **fields}}
        r = self.call(svc, "Panel", session={"uid": svc.clientid, "token": TOKEN},
                      shim={"context": "client_button", "request": request})  # fmt: skip
        self.calls[-1] = f"Panel {action}"
        return r

    def gather(self, r: ShimResult) -> None:
        for c in r.local_api:
            for key, value in c["values"].items():
                if key in SECRET_FIELDS and isinstance(value, str) and value:
                    self.secrets.add(value)
        for entry in r.module_log:
            self.secrets |= secret_values(entry["response"])

    def rows(self) -> list[dict[str, Any]]:
        return self.stack.sql(
            "SELECT action, request, response, arrdata FROM tblmodulelog WHERE module = 's3bridge' AND id > %s",
            (self.first_row,),
        )

    def leaks(self) -> list[str]:
        found = []
        for row in self.rows():
            text = " ".join(str(row[c]) for c in ("request", "response", "arrdata"))
            found += [f"{row['action']}: {s[:4]}..." for s in self.secrets if len(s) >= 4 and s in text]
        return found


def secret_values(value: Any) -> set[str]:
    """Values under the answer fields that always hold a secret, at any depth of an unmasked answer."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k in SECRET_FIELDS and isinstance(v, str) and len(v) >= 4:
                out.add(v)
            else:
                out |= secret_values(v)
    elif isinstance(value, list):
        for v in value:
            out |= secret_values(v)
    return out


def minio_service(stack: PanelStack, options: dict[int, str] | None = None) -> Service:
    svc = Service(stack.minio, stack.daemon.url, stack.daemon.secret, serverid=stack.serverid,
                  options={1: "minio", 2: "1", 3: "GB", 22: "10", **(options or {})})  # fmt: skip
    svc.register(stack.mariadb, stack.database)
    return svc


def test_a_retried_create_account_hands_out_the_pending_password_masked(stack: PanelStack) -> None:
    """Item 5: the answer to CreateAccount is lost (WHMCS never stored the password); WHMCS calls again and gets
    the pending password back; it must be masked in tblmodulelog like the first one was."""
    whmcs = Whmcs(stack)
    svc = minio_service(stack)
    lost = whmcs.call(svc, "CreateAccount", apply=False)
    assert lost.returned == "success"
    first = next(c["values"]["servicepassword"] for c in lost.local_api if c["command"] == "UpdateClientProduct")
    retried = whmcs.call(svc, "CreateAccount")
    assert retried.returned == "success"
    assert svc.password == first  # the same pending password, handed out again
    assert first in str(retried.module_log[-1]["response"])  # it was in the answer...
    assert whmcs.leaks() == []  # ...and masked in the log
    assert len(whmcs.rows()) == 2


def test_no_function_leaves_a_secret_in_the_module_log(stack: PanelStack) -> None:
    """Item 6, and the walk: lifecycle calls and every panel method through the client area's forms."""
    whmcs = Whmcs(stack)
    svc = minio_service(stack)
    assert whmcs.call(svc, "CreateAccount").returned == "success"
    stack.sql("UPDATE tblhosting SET username = %s WHERE id = %s", (svc.username, svc.serviceid))
    assert whmcs.call(svc, "CreateAccount").returned == "success"  # a repeat once WHMCS holds the password
    assert whmcs.call(svc, "ResetPassword").returned == "success"
    assert whmcs.call(svc, "ChangePassword", password="Chosen-Passw0rd-4711").returned == "success"
    svc.password = "Chosen-Passw0rd-4711"
    whmcs.secrets.add(svc.password)
    for function in ("SuspendAccount", "UnsuspendAccount", "RecalculateDiskSpace", "UpdatePolicy", "ShowLimits"):
        whmcs.call(svc, function)
    whmcs.call(svc, "ClientArea", session={"uid": svc.clientid}, shim={"context": "client"})
    for tab in ("keys", "files", "usage"):
        whmcs.call(svc, "ClientArea", session={"uid": svc.clientid},
                   shim={"context": "client", "request": {"get": {"s3tab": tab}}})  # fmt: skip

    made = whmcs.panel(svc, "create_token", name="ci")
    token = next(iter(secret_values(made.module_log[-1]["response"])))
    assert token.startswith("s3b_c_")
    assert whmcs.panel(svc, "create_bucket", bucket_name="files").exception is None
    svc.s3().put_object(Bucket=f"{svc.username}--files", Key="a.txt", Body=b"a")
    key = whmcs.panel(svc, "create_key", name="k1")
    access = key.module_log[-1]["response"]["result"]["envelope"]["access_key"]
    assert any(s for s in secret_values(key.module_log[-1]["response"]) if s != svc.password)
    fields: dict[str, dict[str, Any]] = {
        "get_files": {"bucket_name": "files"}, "download_url": {"bucket_name": "files", "filename": "a.txt"},
        "upload_form": {"bucket_name": "files"}, "delete_file": {"bucket_name": "files", "filename": "a.txt"},
        "delete_bucket": {"bucket_name": "files"}, "revoke_key": {"access_key": access},
        "revoke_token": {"token_id": token.split("_")[2]}, "create_bucket": {"bucket_name": "again"},
        "create_key": {"name": "k2"}, "create_token": {"name": "t2"},
        "delete_payment_account": {"reason": "r"}, "delete_account": {"reason": "r"},
    }  # fmt: skip
    walked = ["create_token", "create_bucket", "create_key"]
    for action in sorted(METHODS, key=lambda a: a in ("delete_payment_account", "delete_account")):
        whmcs.panel(svc, action, **fields.get(action, {}))
        walked.append(action)
    assert set(walked) == set(METHODS)
    assert len(whmcs.rows()) >= len(whmcs.calls)
    assert len(whmcs.secrets) >= 6  # server key, HMAC secret, passwords, token(s), key secret(s)
    assert whmcs.leaks() == []


def test_ostor_key_pairs_and_rotations_leave_no_secret_in_the_module_log(stack: PanelStack, gateway: Gateway) -> None:
    whmcs = Whmcs(stack)
    svc = Service(gateway, stack.daemon.url, stack.daemon.secret, serverid=next_id(),  # type: ignore[arg-type]
                  accesshash="backend=ostor", options={1: "ostor", 12: "on"})  # fmt: skip
    svc.register(stack.mariadb, stack.database)
    assert whmcs.call(svc, "CreateAccount", apply=False).returned == "success"  # the answer is lost
    assert whmcs.call(svc, "CreateAccount").returned == "success"  # the same pair again
    assert whmcs.call(svc, "ResetPassword", apply=False).returned == "success"  # a rotation, its answer lost
    assert whmcs.call(svc, "ResetPassword").returned == "success"  # the pending pair again
    assert whmcs.call(svc, "RevokeOldKeys").returned == "success"
    assert len(whmcs.secrets) >= 4
    assert whmcs.leaks() == []
