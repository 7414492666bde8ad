"""The admin tab: one fragment per label, connection errors, policy and status, disk, buckets (pure rendering)."""

from __future__ import annotations

from bridge.views.render import render_admin_tab
from tests.support.view_samples import Tags, make_admin, make_disk, text_of

# --- admin tab ------------------------------------------------------------------------------------------------


def test_admin_tab_has_one_fragment_per_label_with_every_field() -> None:
    view = make_admin(notes=("Listing failed: timeout",))
    fields = render_admin_tab(view)
    assert list(fields) == ["API connection", "User", "Disk space", "Buckets", "Last usage update", "Notes"]
    assert "Connection OK" in text_of(fields["API connection"])
    assert "MinIO RELEASE.2026-02-12" in text_of(fields["API connection"])
    user = text_of(fields["User"])
    for shown in ("7-55", "enabled", "USERS", "S3-CLIENTS", "s3bridge-7-55-standard", "standard policy", "active"):
        assert shown in user
    disk = text_of(fields["Disk space"])
    for shown in ("10.00 GB", "2.34 GB", "7.66 GB", "23.40 %", "76.60 %"):
        assert shown in disk
    assert 'role="progressbar"' in fields["Disk space"]
    for b in view.buckets:
        assert b.name in fields["Buckets"]
    assert "2026-02-04 11:45" in text_of(fields["Last usage update"])
    assert "estimate" in text_of(fields["Last usage update"])
    assert "Listing failed: timeout" in text_of(fields["Notes"])
    for fragment in fields.values():
        assert len([t for t in Tags(fragment).tags if t[0] == "div" and "s3b-admin" in t[1].get("class", "")]) == 1


def test_admin_tab_without_notes_has_no_notes_label() -> None:
    assert "Notes" not in render_admin_tab(make_admin())


def test_admin_connection_error_shows_the_message() -> None:
    fields = render_admin_tab(make_admin(connection_ok=False, connection_message="MinIO unreachable: refused"))
    text = text_of(fields["API connection"])
    assert "Connection failed" in text
    assert "MinIO unreachable: refused" in text
    assert "text-danger" in fields["API connection"]


def test_admin_user_shows_limited_policy_and_disabled_status() -> None:
    user = text_of(render_admin_tab(make_admin(user_status="disabled", policy_kind="limited"))["User"])
    assert "disabled" in user
    assert "limited policy: uploads paused" in user


def test_admin_user_without_groups_or_policy_says_none() -> None:
    user = text_of(render_admin_tab(make_admin(groups=(), policy="", policy_kind="unknown"))["User"])
    assert "Groups: none" in user
    assert "Policy: none" in user


def test_admin_unlimited_disk_has_no_bar_and_no_percentages() -> None:
    disk = render_admin_tab(make_admin(disk=make_disk(limit_bytes=0)))["Disk space"]
    assert "Unlimited" in disk
    assert "progressbar" not in disk
    assert "%" not in text_of(disk)


def test_admin_empty_buckets_show_an_empty_state_row() -> None:
    assert "No buckets yet." in render_admin_tab(make_admin(buckets=()))["Buckets"]
