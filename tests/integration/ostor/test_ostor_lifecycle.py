"""The full product on Virtuozzo ostor, through the real PHP shim and the real daemon, against the gateway emulator
(a stand-in: no Virtuozzo cluster can run here). MariaDB is real."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bridge.backends.registry import Backends
from bridge.config import BackendSettings, parse_config
from bridge.domain.params import ServerParams
from bridge.whmcs.db import Database
from bridge.whmcs.usage_store import UsageStore
from rig.ostor_emulator import OstorEmulator
from rig.services import MariaDB
from rig.shim import run_shim
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.php, pytest.mark.mariadb]
MB = 1024 * 1024


@dataclass
class Gateway:
    """The emulator on its own event loop in a thread, so the blocking shim calls of the tests can reach it."""

    emulator: OstorEmulator
    loop: asyncio.AbstractEventLoop

    # what Service expects of a storage server
    @property
    def port(self) -> int:
        return self.emulator.port

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint

    @property
    def access_key(self) -> str:
        return self.emulator.access_key

    @property
    def secret_key(self) -> str:
        return self.emulator.secret_key

    def run(self, fn: Callable[[], Any]) -> Any:
        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    emulator = asyncio.run_coroutine_threadsafe(OstorEmulator().start(), loop).result(10)
    yield Gateway(emulator, loop)
    asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)


@pytest.fixture
def make(daemon, gateway: Gateway, mariadb: MariaDB, whmcs_db: str) -> Callable[..., Service]:  # type: ignore[no-untyped-def]
    serverid = next_id()

    def build(options: dict[int, str] | None = None, **kw: Any) -> Service:
        s = Service(
            gateway,
            daemon.url,
            daemon.secret,
            serverid=serverid,
            accesshash="backend=ostor",  # type: ignore[arg-type]
            options={1: "ostor", 12: "on", **(options or {})},
            **kw,
        )
        s.register(mariadb, whmcs_db)
        r = s.call("CreateAccount")
        assert r.returned == "success", r.returned
        return s

    return build


def refused(fn: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as e:
        fn()
    return str(e.value.response["Error"]["Code"])


def test_create_stores_the_gateways_key_pair_and_the_account_works_and_suspends(make, gateway) -> None:  # type: ignore[no-untyped-def]
    svc = make()
    user = gateway.run(lambda: gateway.emulator.state.user_by_email(f"{svc.clientid}-{svc.serviceid}@s3bridge.invalid"))
    assert [k.access_key for k in user.keys] == [svc.username]  # WHMCS username = the access key
    bucket = f"{svc.clientid}-{svc.serviceid}--data"
    svc.s3().put_object(Bucket=bucket, Key="hello", Body=b"hello ostor")
    assert svc.s3().get_object(Bucket=bucket, Key="hello")["Body"].read() == b"hello ostor"
    assert svc.call("SuspendAccount").returned == "success"
    refused(lambda: svc.s3().get_object(Bucket=bucket, Key="hello"))
    assert svc.call("UnsuspendAccount").returned == "success"
    assert svc.s3().get_object(Bucket=bucket, Key="hello")["Body"].read() == b"hello ostor"
    held = (svc.username, svc.password)
    assert svc.call("CreateAccount").returned == "success"  # a retry hands out the same pair
    assert (svc.username, svc.password) == held
    assert svc.call("TerminateAccount").returned == "success"
    assert bucket not in gateway.run(lambda: set(gateway.emulator.state.buckets))
    with pytest.raises(Exception, match="no user with email"):
        gateway.run(lambda: gateway.emulator.state.user_by_email(f"{svc.clientid}-{svc.serviceid}@s3bridge.invalid"))


def test_two_services_of_one_client_get_two_separate_users(make, gateway) -> None:  # type: ignore[no-untyped-def]
    first = make()
    second = make(clientid=first.clientid)
    assert first.username != second.username
    emails = gateway.run(lambda: [u.email for u in gateway.emulator.state.users.values()])
    assert f"{first.clientid}-{first.serviceid}@s3bridge.invalid" in emails
    assert f"{first.clientid}-{second.serviceid}@s3bridge.invalid" in emails
    refused(lambda: first.s3().list_objects_v2(Bucket=f"{first.clientid}-{second.serviceid}--data"))


def test_key_rotation_revokes_the_old_pair_only_once_whmcs_holds_the_new_one(make, gateway) -> None:  # type: ignore[no-untyped-def]
    svc = make()
    old = (svc.username, svc.password)
    lost = svc.call("ResetPassword", apply_effects=False)  # the new pair never reached WHMCS
    assert lost.returned == "success"
    assert "does not hold the new key pair" in svc.call("RevokeOldKeys").returned
    svc.s3(*old).list_buckets()  # the old pair still works
    again = svc.call("ResetPassword")  # rotate again: the same pending pair, not a third one
    assert again.local_api[0]["values"]["serviceusername"] == lost.local_api[0]["values"]["serviceusername"]
    assert svc.username != old[0]
    svc.s3().list_buckets()
    svc.s3(*old).list_buckets()  # not revoked until WHMCS is seen holding the new pair
    assert svc.call("RevokeOldKeys").returned == "success"  # WHMCS passes the new secret: old pair revoked
    assert refused(lambda: svc.s3(*old).list_buckets()) in {"InvalidAccessKeyId", "AccessDenied"}
    svc.s3().list_buckets()
    assert "cannot take a chosen password" in svc.call("ChangePassword", password="Chosen-by-admin-2026").returned


def test_quota_and_rate_limits_follow_the_product_and_the_buttons(make, gateway) -> None:  # type: ignore[no-untyped-def]
    svc = make({2: "2", 3: "GB", 19: "100,50,20,10,5", 20: "512", 21: "1"})
    bucket_quota = lambda: gateway.run(lambda: dict(gateway.emulator.state.quotas)).get(  # noqa: E731
        ("bucket", f"{svc.clientid}-{svc.serviceid}--data")
    )
    uid = gateway.run(
        lambda: gateway.emulator.state.user_by_email(f"{svc.clientid}-{svc.serviceid}@s3bridge.invalid").user_id
    )
    quotas = lambda: gateway.run(lambda: dict(gateway.emulator.state.quotas)).get(("user", uid))  # noqa: E731
    limits = lambda: gateway.run(lambda: dict(gateway.emulator.state.limits)).get(("user", uid), {})  # noqa: E731
    assert quotas() == 2
    assert limits()
    assert bucket_quota() == 1
    assert svc.call("ClearLimits").returned == "success"
    assert quotas() is None
    assert not limits()
    assert bucket_quota() is None
    assert svc.call("ApplyLimits").returned == "success"
    assert quotas() == 2
    shown = svc.call("ShowLimits")
    assert shown.returned == "success"
    assert "storage quota 2 GB" in shown.module_log[-1]["masked"]["response"]
    svc.options[2] = "5"
    assert svc.call("ChangePackage").returned == "success"
    assert quotas() == 5
    buttons = svc.call("AdminCustomButtonArray").returned
    assert {"Rotate Keys", "Revoke Old Keys", "Show Limits", "Apply Limits", "Clear Limits"} <= set(buttons)
    assert "Set Limited Policy" not in buttons


def test_traffic_is_aggregated_into_bwusage_once_even_after_a_crash_between_commit_and_delete(  # type: ignore[no-untyped-def]
    make, gateway, mariadb: MariaDB, whmcs_db: str, daemon_config
) -> None:
    svc = make()
    bucket = f"{svc.clientid}-{svc.serviceid}--data"
    svc.s3().put_object(Bucket=bucket, Key="up", Body=b"u" * (3 * MB))
    svc.s3().get_object(Bucket=bucket, Key="up")["Body"].read()
    name = gateway.run(gateway.emulator.state.roll_usage)
    assert name is not None

    async def crash_after_commit() -> None:
        """The daemon's own store path commits the object's rows, then the process dies before the delete."""
        config = parse_config(daemon_config)
        db = Database(config.whmcs_db)
        backends = Backends(BackendSettings())
        backend = backends(ServerParams.from_params(svc.server_params()))
        store = UsageStore(db)

        async def store_then_crash(source: str, records: Any) -> None:
            await store.store_traffic(svc.serverid, source, records)
            raise RuntimeError("simulated crash after the database commit")

        try:
            with pytest.raises(RuntimeError, match="simulated crash"):
                await backend.collect_traffic(store_then_crash)  # type: ignore[attr-defined]
        finally:
            await backends.close()
            db.close()

    asyncio.run(crash_after_commit())
    assert name in gateway.run(lambda: set(gateway.emulator.state.stats))  # not deleted: nothing was lost
    r = run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret)
    assert r.returned == "success", r.returned
    assert name not in gateway.run(lambda: set(gateway.emulator.state.stats))  # collected now, and deleted
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT bwusage FROM tblhosting WHERE id = %s", (svc.serviceid,))
        assert cur.fetchone()["bwusage"] == 6  # type: ignore[index]  # 3 MB up + 3 MB down, counted once
        cur.execute("SELECT COUNT(*) AS n FROM mod_s3bridge_traffic_sums WHERE source = %s", (name,))
        rows = cur.fetchone()["n"]  # type: ignore[index]
    assert rows >= 1
    run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret)  # again: nothing new, no double
    with conn.cursor() as cur:
        cur.execute("SELECT bwusage FROM tblhosting WHERE id = %s", (svc.serviceid,))
        assert cur.fetchone()["bwusage"] == 6  # type: ignore[index]
        # the same daily table MinIO's audit stream feeds (charts, bwusage, usage metrics)
        cur.execute(
            "SELECT SUM(bytes_in) AS i, SUM(bytes_out) AS o FROM mod_s3bridge_traffic_daily WHERE serviceid = %s",
            (svc.serviceid,),
        )
        daily = cur.fetchone()
        assert daily is not None
        assert (int(daily["i"]), int(daily["o"])) == (3 * MB, 3 * MB)


def test_client_area_shows_keys_for_ostor(make) -> None:  # type: ignore[no-untyped-def]
    svc = make({14: "plain"})
    r = svc.call("ClientArea", session={"uid": svc.clientid})
    html = r.returned["templateVariables"]["s3bridge_html"]["text"]
    assert "Access key" in html
    assert "Secret key" in html
    assert svc.username in html
    assert "Rotate keys" in html


def test_admin_tab_shows_the_native_limits_on_ostor(make) -> None:  # type: ignore[no-untyped-def]
    svc = make({2: "3", 3: "GB", 19: "10,5,5,2,2"})
    fields = svc.call("AdminServicesTabFields", session={"adminid": 1}).returned
    text = " ".join(fields.values())
    assert "storage quota 3 GB" in text
    assert "ops_default 10" in text
    assert "enabled" in text


def test_gateway_generated_secrets_appear_in_no_log_or_module_log(make, daemon) -> None:  # type: ignore[no-untyped-def]
    svc = make()
    first = svc.password
    rotated = svc.call("ResetPassword")
    assert svc.password != first
    log = daemon.log_text()
    for secret in (first, svc.password):
        assert secret not in log
        for entry in rotated.module_log:
            assert secret not in str(entry["masked"])


def test_on_a_cluster_without_quota_accounting_quotas_are_called_only_when_the_product_sets_one(  # type: ignore[no-untyped-def]
    make, gateway
) -> None:
    """The guide: quotas need `ostor-ctl add-acc` first. Create and Terminate of a product without a quota never
    depend on it; a product with one gets a sentence telling the admin what to run."""
    state = gateway.emulator.state
    accounting = state.variant
    state.variant = dataclasses.replace(accounting, quota_accounting=False)
    try:
        mark = gateway.run(lambda: len(state.admin_calls))
        svc = make()
        services = gateway.run(lambda: [s for _, s, _ in state.admin_calls[mark:]])
        assert "ostor-users" in services
        assert "ostor-quotas" not in services
        svc.options[2] = "5"
        changed = svc.call("ChangePackage").returned
        assert "ostor-ctl add-acc -V <volume id>" in changed
        svc.options[2] = "0"
        mark = gateway.run(lambda: len(state.admin_calls))
        assert svc.call("ChangePackage").returned == "success"
        assert svc.call("TerminateAccount").returned == "success"
        assert "ostor-quotas" not in gateway.run(lambda: [s for _, s, _ in state.admin_calls[mark:]])
    finally:
        state.variant = accounting


def test_an_unreadable_statistics_object_is_kept_on_the_gateway_and_shown_on_the_admin_tab(  # type: ignore[no-untyped-def]
    make, gateway
) -> None:
    svc = make()
    broken = "s3-usage-800000000000006a-2017-02-01T16:27:24.000Z-1800"
    gateway.run(lambda: gateway.emulator.state.raw_stats.__setitem__(broken, b'{"fmt_version": 1, "items": ['))
    try:
        r = run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret)
        assert r.returned == "success", r.returned
        assert broken in gateway.run(lambda: set(gateway.emulator.state.raw_stats))  # kept, never deleted
        fields = svc.call("AdminServicesTabFields", session={"adminid": 1}).returned
        text = " ".join(fields.values())
        assert "1 usage statistics object on this server could not be read" in text
        assert broken in text
    finally:
        gateway.run(lambda: gateway.emulator.state.raw_stats.pop(broken, None))
    run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret)  # gone from the gateway: not shown
    fields = svc.call("AdminServicesTabFields", session={"adminid": 1}).returned
    assert broken not in " ".join(fields.values())


def test_rotate_keys_never_hands_out_the_customers_own_second_pair(make, gateway) -> None:  # type: ignore[no-untyped-def]
    """The customer made a second pair in the panel: Rotate Keys refuses, naming it, and WHMCS keeps its pair (before,
    it took that pair as the new one and revoked WHMCS's: a leaked panel key became the service key)."""
    svc = make()
    held = (svc.username, svc.password)
    email = f"{svc.clientid}-{svc.serviceid}@s3bridge.invalid"
    state = gateway.emulator.state
    own = gateway.run(lambda: state.gen_key(state.user_by_email(email), None)).access_key
    refused_rotation = svc.call("ResetPassword")
    assert own in refused_rotation.returned
    assert "2 key pairs" in refused_rotation.returned
    assert (svc.username, svc.password) == held
    svc.s3().list_buckets()  # WHMCS's pair still works
    gateway.run(lambda: state.revoke_key(state.user_by_email(email), None, own))  # the customer drops its pair
    assert svc.call("ResetPassword").returned == "success"
    assert svc.username not in (held[0], own)  # a fresh pair from genKey


def test_terminate_deletes_only_the_users_buckets_and_names_the_others_on_the_admin_tab(make, gateway) -> None:  # type: ignore[no-untyped-def]
    doomed, bystander = make(), make()
    theirs = f"{bystander.clientid}-{bystander.serviceid}--data"
    bystander.s3().put_object(Bucket=theirs, Key="keep", Body=b"keep me")
    email = f"{doomed.clientid}-{doomed.serviceid}@s3bridge.invalid"
    gateway.run(lambda: gateway.emulator.state.filter_leaks.__setitem__(email, {theirs}))
    assert doomed.call("TerminateAccount").returned == "success"
    assert bystander.s3().get_object(Bucket=theirs, Key="keep")["Body"].read() == b"keep me"
    text = " ".join(doomed.call("AdminServicesTabFields", session={"adminid": 1}).returned.values())
    assert f"not deleted: {theirs}" in text
    assert "another ostor user" in text


def test_the_admin_tab_says_when_the_gateway_holds_other_limits_than_the_product_sells(make, gateway) -> None:  # type: ignore[no-untyped-def]
    state = gateway.emulator.state
    gateway.run(lambda: state.limit_readback.__setitem__("bandwidth", 8.0))
    try:
        svc = make({20: "100"})
        applied = svc.call("ApplyLimits")
        assert "bandwidth out 800 held, 100 sold" in applied.module_log[-1]["masked"]["response"]
        text = " ".join(svc.call("AdminServicesTabFields", session={"adminid": 1}).returned.values())
        assert "holds other rate limits than the product sells (bandwidth out 800 held, 100 sold)" in text
    finally:
        gateway.run(lambda: state.limit_readback.clear())
    email = f"{svc.clientid}-{svc.serviceid}@s3bridge.invalid"
    uid = gateway.run(lambda: state.user_by_email(email).user_id)
    assert gateway.run(lambda: state.limits[("user", uid)]["bandwidth:out"]) == 800.0  # the fault, as stored
    assert svc.call("ApplyLimits").returned == "success"
    assert gateway.run(lambda: state.limits[("user", uid)]["bandwidth:out"]) == 100.0  # sent unchanged
