"""The client area page: every field, the disk gauge, notices, links, the password modes (pure rendering)."""

from __future__ import annotations

import re

from bridge.views.model import Bucket
from bridge.views.render import render_client_area
from tests.support.view_samples import GB, Tags, make_disk, make_view, text_of

# --- client area: content -------------------------------------------------------------------------------------


def test_client_area_shows_every_field_of_the_view() -> None:
    view = make_view()
    html = render_client_area(view)
    text = text_of(html)
    parsed = Tags(html)
    hrefs = parsed.values("href")
    assert 'data-s3b-service="4242"' in html
    assert 'lang="en"' in html
    for shown in ("https://s3.example.com", "https://console.example.com/", "7-55", "Pw9qAZWSxedc"):
        assert shown in text
    assert "https://console.example.com/" in hrefs
    assert "https://docs.example.com/s3-manual" in hrefs
    for url in (view.upgrade_url, view.cancel_url):  # pages of WHMCS's own: links
        assert url in hrefs
    actions = parsed.values("action")  # actions that change something: forms posting WHMCS's token
    for url in (view.change_password_url, view.recalculate_url):
        assert url in actions
        assert url not in hrefs
    for label in ("Change Password", "Recalculate Disk Space", "Upgrade/Downgrade", "Request Cancellation"):
        assert label in text
    assert "Disk space recalculated." in text
    for b in view.buckets:
        assert b.name in text
        assert b.created is not None
        assert b.created.date().isoformat() in text
        assert f"{b.objects:,}" in text
    assert "0.05 GB" in text
    assert "0.10 GB" in text
    assert "10.00 GB" in text
    assert "2.34 GB" in text
    assert "7.66 GB" in text
    assert "23.40 %" in text
    assert "76.60 %" in text
    assert "2026-02-04 11:45" in text
    assert "estimate from the storage server's scan" in text
    assert "2026-03-02" in text
    assert "2026-02-01" in text
    assert "2026-01" in text
    assert "2026-02" in text
    assert "1 GB = 1024 MB" in text
    assert "Uploads paused" not in text
    assert "Service suspended" not in text


def test_exact_figures_are_labelled_exact() -> None:
    text = text_of(render_client_area(make_view(disk=make_disk(exact=True))))
    assert "exact count" in text
    assert "estimate" not in text


def test_never_measured_disk_says_so() -> None:
    text = text_of(render_client_area(make_view(disk=make_disk(last_update=None))))
    assert "not measured yet" in text


def test_unlimited_disk_is_shown_as_unlimited_without_percentages_or_gauge() -> None:
    html = render_client_area(make_view(disk=make_disk(limit_bytes=0)))
    text = text_of(html)
    assert "Unlimited" in text
    assert "2.34 GB" in text
    assert "%" not in text.replace("1 GB = 1024 MB", "")
    assert 'role="progressbar"' not in html
    assert "Disk free" not in text
    assert "Used percentage" not in text


def test_gauge_shows_used_share_and_clamps_beyond_the_limit() -> None:
    html = render_client_area(make_view())
    assert 'aria-valuenow="23.40"' in html
    assert "bg-success" in html
    over = render_client_area(make_view(disk=make_disk(used_bytes=12 * GB)))
    assert 'aria-valuenow="100.00"' in over
    assert "width: 100.00%" in over
    assert "bg-danger" in over
    assert "120.00 %" in text_of(over)
    assert "Disk free 0.00 GB" in text_of(over)


def test_suspended_service_gets_a_danger_notice() -> None:
    html = render_client_area(make_view(suspended=True))
    assert "alert-danger" in html
    assert "Service suspended" in text_of(html)


def test_limited_policy_gets_an_uploads_paused_notice() -> None:
    html = render_client_area(make_view(policy="limited"))
    assert "alert-warning" in html
    assert "Uploads paused" in text_of(html)


def test_no_buckets_shows_an_empty_state_row() -> None:
    html = render_client_area(make_view(buckets=()))
    assert "No buckets yet." in text_of(html)
    assert 'colspan="4"' in html


def test_actions_with_empty_urls_are_omitted() -> None:
    text = text_of(render_client_area(make_view(upgrade_url="", cancel_url="")))
    assert "Change Password" in text
    assert "Upgrade/Downgrade" not in text
    assert "Request Cancellation" not in text
    none = render_client_area(make_view(change_password_url="", recalculate_url="", upgrade_url="", cancel_url=""))
    assert "Actions" not in text_of(none)


def test_optional_links_are_omitted_when_empty() -> None:
    html = render_client_area(make_view(console_url="", instructions_url=""))
    assert "Web console" not in text_of(html)
    assert "User manual" not in text_of(html)


def test_tiny_bucket_reads_as_less_than_the_smallest_step_not_zero() -> None:
    view = make_view(buckets=(Bucket("tiny", None, 1, 10),))
    text = text_of(render_client_area(view))
    assert "< 0.01 GB" in text
    assert "tiny" in text


# --- client area: password modes ------------------------------------------------------------------------------


def test_password_hidden_mode_never_puts_the_password_in_the_page() -> None:
    html = render_client_area(make_view(password_display="hidden", password="S3cret-Should-Not-Leak"))
    assert "S3cret-Should-Not-Leak" not in html
    assert "<dt>Password</dt>" not in html
    assert "Show password" not in html


def test_password_button_mode_hides_it_behind_a_details_toggle_that_needs_no_javascript() -> None:
    html = render_client_area(make_view(password_display="button"))
    match = re.search(r"<details[^>]*>(.*?)</details>", html, re.S)
    assert match is not None
    assert "<summary" in match.group(1)
    assert "Show password" in match.group(1)
    assert "Pw9qAZWSxedc" in match.group(1)
    assert "<details open" not in html


def test_password_plain_mode_shows_it_with_a_copy_button() -> None:
    html = render_client_area(make_view(password_display="plain"))
    assert "<details" not in html
    assert 'data-s3b-copy="Pw9qAZWSxedc"' in html
    assert ">Pw9qAZWSxedc</code>" in html


def test_copy_buttons_stay_hidden_until_the_script_finds_a_clipboard() -> None:
    parsed = Tags(render_client_area(make_view()))
    buttons = [a for tag, a in parsed.tags if tag == "button" and "data-s3b-copy" in a]
    assert {b["data-s3b-copy"] for b in buttons} == {"https://s3.example.com", "7-55", "Pw9qAZWSxedc"}
    assert all("hidden" in b for b in buttons)
    assert len(parsed.scripts) == 1
    assert "navigator.clipboard" in parsed.scripts[0]


def test_a_bucket_without_an_object_count_shows_a_dash_never_zero() -> None:
    """ostor's figures are the gateway's bucket sizes, which carry no object count: "0 objects" would be false."""
    view = make_view(buckets=(Bucket("photos", None, None, 5 * GB), Bucket("counted", None, 7, GB)))
    cells = re.findall(r'data-label="Objects">([^<]*)</td>', render_client_area(view))
    assert cells == ["—", "7"]
