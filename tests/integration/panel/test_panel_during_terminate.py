"""Panel changes sent while TerminateAccount runs leave nothing behind (real MinIO, MariaDB and the real shim).

The panel's create_bucket and create_key take the one account path (`bridge/functions/call.py`): the service's lock,
the record read again under it, the state checked. So a change sent while a terminate holds the lock waits for it
and then finds no account. Before, the panel checked the record without the lock and ran beside the terminate: a
bucket made after the terminate had emptied the account survived it, owned by nobody the records know.
"""

from __future__ import annotations

import json
import threading

import pytest
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MariaDB, MinIO
from tests.support.panel_rig import NOT_FOUND, Answer, shim_panel
from tests.support.tcp_proxy import TriggerProxy
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]

PANEL_CHANGES = {"create_bucket": {"bucket_name": "late"}, "create_key": {"name": "late"}}
WAIT_S = 2.0  # how long the terminate is held while the panel's changes run (or wait for its lock)


def test_panel_changes_sent_during_a_terminate_leave_nothing_behind(
    daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    svc = Service(minio, daemon.url, daemon.secret)
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    username = svc.username
    svc.s3().create_bucket(Bucket=f"{username}--data")
    answers: dict[str, Answer] = {}

    def send(action: str) -> None:
        answers[action], _ = shim_panel(daemon, svc, action, {"s3uid": username, **PANEL_CHANGES[action]})

    senders = [threading.Thread(target=send, args=(action,), daemon=True) for action in PANEL_CHANGES]

    def panel_changes_while_the_terminate_is_half_done() -> None:
        """The terminate has removed the buckets and the user; its answer from MinIO is held here meanwhile."""
        for t in senders:
            t.start()
        for t in senders:
            t.join(timeout=WAIT_S)

    proxy = TriggerProxy(minio.port, b"/minio/admin/v3/remove-user", panel_changes_while_the_terminate_is_half_done)
    try:
        params = svc.params
        svc.params = lambda **extra: params(**{"serverport": proxy.port, **extra})  # type: ignore[method-assign]
        proxy.armed = True
        terminated = svc.call("TerminateAccount")
        assert proxy.fired.is_set(), terminated.returned  # the terminate reached remove-user
        assert terminated.returned == "success"
        for t in senders:
            t.join(timeout=60)
    finally:
        proxy.close()

    root = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    assert [b.name for b in root.list_buckets() if b.name.startswith(f"{username}--")] == []
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    assert username not in json.loads(admin.user_list())
    # Neither change is reported done for an account that is gone: both found no account once the lock was theirs.
    assert {action: a.body for action, a in answers.items()} == {action: NOT_FOUND for action in PANEL_CHANGES}
