"""Hostile customers (issue 18, item 6): every panel parameter is checked before use, so hostile input gets a 400
naming the parameter, never a 500; no storage server address reaches a customer. On the `[api]` listener and the
shim's way, with real MinIO and MariaDB."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from rig.services import free_port
from tests.support.panel_rig import Answer, PanelStack, shim_panel
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture(scope="module")
def alice(stack: PanelStack) -> Service:
    svc = stack.service({22: "5"})
    stack.shim(svc, "create_bucket", {"s3uid": svc.username, "bucket_name": "docs"})
    svc.s3().put_object(Bucket=f"{svc.username}--docs", Key="a/b.txt", Body=b"b")
    return svc


@pytest.fixture(scope="module")
def token(stack: PanelStack, alice: Service) -> str:
    return stack.client_token(alice)


def raw_api(stack: PanelStack, token: str, action: str, body: str) -> Answer:
    """A JSON body sent as is (json.dumps cannot write a lone surrogate any other way than as its escape)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{stack.api_url}/s3/{action}", data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return Answer(r.status, json.loads(r.read()))
    except urllib.error.HTTPError as e:
        return Answer(e.code, json.loads(e.read()))


@pytest.mark.parametrize(
    ("action", "body", "parameter"),
    [
        ("get_buckets_rmq", '{"s3uid": "\\ud800"}', "s3uid"),
        ("get_files", '{"s3uid": "%s", "bucket_name": "docs", "search": "\\udfff"}', "search"),
        ("create_bucket", '{"s3uid": "%s", "bucket_name": "\\ud83d"}', "bucket_name"),
        ("get_files", '{"s3uid": "%s", "bucket_name": "docs", "prefix": "a/\\ud800"}', "prefix"),
        ("create_key", '{"s3uid": "%s", "buckets": ["docs", "\\ud800"]}', "buckets"),
        ("history", '{"s3uid": "%s", "limit": "\\ud800"}', "limit"),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_parameter(
    stack: PanelStack, alice: Service, token: str, action: str, body: str, parameter: str
) -> None:
    a = raw_api(stack, token, action, body.replace("%s", alice.username))
    assert a.status == 400, a.body
    assert a.body["details"] == {"parameter": parameter}
    assert f"parameter '{parameter}'" in a.body["message"]


def test_a_lone_surrogate_in_the_action_or_an_unknown_field_is_no_500(
    stack: PanelStack, alice: Service, token: str
) -> None:
    unknown = raw_api(stack, token, "get_buckets", f'{{"s3uid": "{alice.username}", "extra": "\\ud800"}}')
    assert unknown.status == 200  # unknown parameters are ignored, as documented
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{stack.api_url}/s3", method="POST", data=b'{"action": "\\ud800"}', headers=headers)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=60)
    assert e.value.code in (400, 404)


@pytest.mark.parametrize("prefix", ["../", "a/../", "./", "a/./b/", "..", "a/..", "../../other--bucket/"])
def test_get_files_refuses_dot_segments_in_the_prefix_without_asking_the_storage(
    stack: PanelStack, alice: Service, token: str, prefix: str
) -> None:
    a = stack.api(token, "get_files", {"s3uid": alice.username, "bucket_name": "docs", "prefix": prefix})
    assert a.status == 400, a.body
    assert a.body["message"] == "parameter 'prefix' has a '.' or '..' path segment, which object names here cannot have"
    assert str(stack.minio.port) not in json.dumps(a.body)


def test_a_prefix_search_cannot_build_a_dot_segment_either(stack: PanelStack, alice: Service, token: str) -> None:
    a = stack.api(token, "get_files", {"s3uid": alice.username, "bucket_name": "docs", "prefix": "a/", "search": ".."})
    assert a.status == 400, a.body
    assert a.body["details"] == {"parameter": "search"}
    ok = stack.api(token, "get_files", {"s3uid": alice.username, "bucket_name": "docs", "prefix": "a/", "search": "b"})
    assert [f["key"] for f in ok.body["files"]] == ["a/b.txt"]


def test_the_client_areas_way_refuses_the_same(stack: PanelStack, alice: Service) -> None:
    a, effects = stack.shim(alice, "get_files", {"s3uid": alice.username, "bucket_name": "docs", "prefix": "a/../"})
    assert a.status == 400
    assert "'..' path segment" in a.body["message"]
    assert effects == []


def test_addresses_are_hidden_but_ordinary_text_is_not() -> None:
    from bridge.redact import ADDRESS_HIDDEN, public

    assert public("list objects refused by 10.0.0.5:9000: Access Denied") == (
        f"list objects refused by {ADDRESS_HIDDEN}: Access Denied"
    )
    assert (
        public("WHMCS API at https://whmcs.internal/includes/api.php failed") == f"WHMCS API at {ADDRESS_HIDDEN} failed"
    )
    assert public("storage.lan:9000 and [fd00::1]:443 and unix:/run/s3bridge/api.sock") == " and ".join(
        [ADDRESS_HIDDEN] * 3
    )
    for ordinary in ("at 10:30 today", "bucket 7-55--a.b", "version 1.2.3", "over 5 GB of 10 GB"):
        assert public(ordinary) == ordinary


def test_the_shims_channel_refuses_a_lone_surrogate_with_a_400(stack: PanelStack, alice: Service) -> None:
    """The signed channel too (PHP's json_encode never writes one, but the daemon does not rely on that)."""
    with pytest.raises(urllib.error.HTTPError) as e:
        shim_panel(stack.daemon, alice, "get_files", {"s3uid": "\ud800", "bucket_name": "docs"})
    assert e.value.code == 400
    assert json.loads(e.value.read())["error"] == {
        "code": "bad_json",
        "message": "request body holds a lone surrogate (\\ud800-\\udfff), which is not text",
    }


def test_a_client_area_failure_names_no_storage_address(stack: PanelStack) -> None:
    """Through the real shim: a client's Recalculate while the storage server cannot be reached gets the daemon's
    sentence without the server's address; an admin's gets the address (the daemon's log keeps it either way)."""
    svc = stack.service()
    port = free_port()  # nothing listens there: the storage server is unreachable
    token = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    form = {"context": "client_button", "request": {"method": "POST", "post": {"token": token}}}
    client = svc.call("RecalculateDiskSpace", session={"uid": svc.clientid, "token": token}, shim=form,
                      serverport=port)  # fmt: skip
    assert "is unreachable" in str(client.returned), client.returned
    assert f"127.0.0.1:{port}" not in str(client.returned)
    assert f"127.0.0.1:{port}" in stack.daemon.log_text()
    admin = svc.call("RecalculateDiskSpace", session={"adminid": 1}, shim={"context": "admin"}, serverport=port)
    assert f"MinIO at 127.0.0.1:{port} is unreachable" in str(admin.returned)
