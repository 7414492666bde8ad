"""Every string a customer or an admin can influence is inert in both pages; javascript: URLs never become links."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bridge.views.model import PasswordDisplay
from bridge.views.render import render_admin_tab, render_client_area, safe_href
from tests.support.view_samples import PAYLOADS, Tags, make_admin, make_view, poison, text_of

# --- escaping -------------------------------------------------------------------------------------------------


def test_poison_reaches_every_string_field_of_both_views() -> None:
    client, admin = poison(make_view(), "P"), poison(make_admin(notes=("n",)), "P")
    assert client.endpoint == client.cancel_url == client.buckets[0].name == client.monthly[0].month == "P"
    assert client.disk.unit == client.language == "P"
    assert admin.groups == admin.notes == ("P", "P-2")
    assert admin.state == admin.policy == "P"
    assert client.policy == "standard"
    assert admin.policy_kind == "standard"


def _assert_inert(html: str, payload: str, scripts_allowed: int) -> None:
    parsed = Tags(html)
    assert payload not in html or payload == "javascript:alert(1)", "raw payload in the HTML"
    assert "{$" not in html
    assert re.search(r"\{\S", html) is None, "a brace Smarty would read as a tag"
    assert not [t for t, _ in parsed.tags if t in ("img", "iframe", "object", "embed")]
    assert not [k for _, attrs in parsed.tags for k in attrs if k.startswith("on")]
    assert len(parsed.scripts) == scripts_allowed
    for attr in ("href", "src", "action", "formaction", "xlink:href"):
        for url in parsed.values(attr):
            scheme = re.match(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):", url)
            assert scheme is None or scheme.group(1).lower() in ("http", "https"), url


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("display", ["button", "plain", "hidden"])
def test_client_area_escapes_every_customer_influenced_string(payload: str, display: PasswordDisplay) -> None:
    view = dataclasses.replace(poison(make_view(), payload), password_display=display)
    html = render_client_area(view)
    _assert_inert(html, payload, scripts_allowed=1)
    if payload != "{$smarty}":
        assert payload in text_of(html), "the payload is shown as text"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_client_area_notices_escape_too(payload: str) -> None:
    html = render_client_area(poison(make_view(suspended=True, policy="limited"), payload))
    _assert_inert(html, payload, scripts_allowed=1)


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("ok", [True, False])
def test_admin_tab_escapes_every_admin_influenced_string(payload: str, ok: bool) -> None:
    view = dataclasses.replace(poison(make_admin(notes=("x",)), payload), connection_ok=ok)
    fields = render_admin_tab(view)
    assert "Notes" in fields
    for fragment in fields.values():
        _assert_inert(fragment, payload, scripts_allowed=0)


def test_javascript_urls_never_become_links() -> None:
    bad = "javascript:alert(1)"
    view = make_view(console_url=bad, instructions_url=bad, change_password_url=bad, upgrade_url=" JaVaScRiPt:x")
    html = render_client_area(view)
    hrefs = Tags(html).values("href")
    assert not [h for h in hrefs if "script:" in h.lower()]
    assert bad in text_of(html)  # the console URL is still shown, as text
    assert "User manual" not in text_of(html)
    assert "Change Password" not in text_of(html)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://docs.example.com/a?b=1", "https://docs.example.com/a?b=1"),
        ("  http://x.example/  ", "http://x.example/"),
        ("clientarea.php?action=cancel&id=1", "clientarea.php?action=cancel&id=1"),
        ("/relative/path", "/relative/path"),
        ("javascript:alert(1)", ""),
        (" JAVASCRIPT:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        ("java\nscript:alert(1)", ""),
        ("\x01javascript:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("vbscript:msgbox(1)", ""),
        ("ftp://files.example.com/", ""),
        ("/\\evil.example.com", ""),
        ("", ""),
    ],
)
def test_safe_href_allows_only_http_https_and_relative_urls(url: str, expected: str) -> None:
    assert safe_href(url) == expected
