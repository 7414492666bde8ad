"""Pure rendering tests of the client area, the admin tab, the SVG charts and the translations (no services)."""

from __future__ import annotations

import dataclasses
import json
import re
import string
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, TypeVar

import pytest

from bridge.domain.values import DailyPoint, MonthlyPoint
from bridge.views import charts, i18n
from bridge.views.emails import LANGUAGES
from bridge.views.model import AdminTabView, Bucket, ClientAreaView, Disk
from bridge.views.render import render_admin_tab, render_client_area, safe_href

GB = 1024**3
SVG = "{http://www.w3.org/2000/svg}"
PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{$smarty}", "javascript:alert(1)")
T = TypeVar("T")


def parse_svg(svg: object) -> ET.Element:
    """Our own SVG, parsed strictly: a chart that is not well-formed XML fails here."""
    return ET.fromstring(str(svg))  # noqa: S314 - trusted input: the renderer's own output


def make_disk(**overrides: Any) -> Disk:
    values: dict[str, Any] = {
        "used_bytes": int(2.34 * GB),
        "limit_bytes": 10 * GB,
        "unit": "GB",
        "last_update": datetime(2026, 2, 4, 11, 45),
        "exact": False,
    }
    return Disk(**{**values, **overrides})


def make_buckets(n: int = 2) -> tuple[Bucket, ...]:
    return tuple(
        Bucket(f"7-55--bucket-{i:03d}", datetime(2026, 1, 1 + i % 28, 9, 30), 1000 + i, (i + 1) * 50 * 1024**2)
        for i in range(n)
    )


def make_daily(n: int = 30, end: date = date(2026, 3, 2)) -> tuple[DailyPoint, ...]:
    return tuple(DailyPoint(end - timedelta(days=n - 1 - i), (i + 1) * GB // 10) for i in range(n))


def make_view(**overrides: Any) -> ClientAreaView:
    values: dict[str, Any] = {
        "language": "english",
        "serviceid": 4242,
        "endpoint": "https://s3.example.com",
        "console_url": "https://console.example.com/",
        "instructions_url": "https://docs.example.com/s3-manual",
        "username": "7-55",
        "password": "Pw9qAZWSxedc",
        "password_display": "plain",
        "suspended": False,
        "policy": "standard",
        "disk": make_disk(),
        "buckets": make_buckets(),
        "daily": make_daily(),
        "monthly": (MonthlyPoint("2026-01", GB), MonthlyPoint("2026-02", 2 * GB)),
        "change_password_url": "clientarea.php?action=productdetails&id=4242&modop=custom&a=ResetPassword",
        "recalculate_url": "clientarea.php?action=productdetails&id=4242&modop=custom&a=RecalculateDiskSpace",
        "upgrade_url": "upgrade.php?type=package&id=4242",
        "cancel_url": "clientarea.php?action=cancel&id=4242",
        "notice": "Disk space recalculated.",
    }
    return ClientAreaView(**{**values, **overrides})


def make_admin(**overrides: Any) -> AdminTabView:
    values: dict[str, Any] = {
        "language": "english",
        "connection_ok": True,
        "connection_message": "MinIO RELEASE.2026-02-12",
        "username": "7-55",
        "user_status": "enabled",
        "groups": ("USERS", "S3-CLIENTS"),
        "policy": "s3bridge-7-55-standard",
        "policy_kind": "standard",
        "disk": make_disk(),
        "buckets": make_buckets(),
        "state": "active",
        "notes": (),
    }
    return AdminTabView(**{**values, **overrides})


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every <script>."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def values(self, attr: str) -> list[str]:
        return [a[attr] for _, a in self.tags if attr in a]


def text_of(html: str) -> str:
    """The visible-ish text: tags, <style> and <script> removed, entities decoded (what a reader gets)."""
    parts: list[str] = []
    skipping: list[bool] = [False]

    class Text(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            skipping[0] = tag in ("style", "script")

        def handle_endtag(self, tag: str) -> None:
            skipping[0] = False

        def handle_data(self, data: str) -> None:
            if not skipping[0]:
                parts.append(data)

    Text(convert_charrefs=True).feed(html)
    return " ".join(" ".join(parts).split())


def poison(obj: T, payload: str) -> T:
    """A copy of a view model with the payload in every string a customer or admin can influence: every str
    field (Literal-typed ones excepted: their values are fixed by the code), every tuple of str, recursively."""
    assert dataclasses.is_dataclass(obj)
    assert not isinstance(obj, type)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        kind = str(f.type)
        if isinstance(value, str) and not kind.startswith(("Literal", "PasswordDisplay")):
            changes[f.name] = payload
        elif dataclasses.is_dataclass(value):
            changes[f.name] = poison(value, payload)
        elif isinstance(value, tuple) and kind.startswith("tuple[str"):
            changes[f.name] = (payload, payload + "-2")
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            changes[f.name] = tuple(poison(v, payload) for v in value)
    return dataclasses.replace(obj, **changes)


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
    for url in (view.change_password_url, view.recalculate_url, view.upgrade_url, view.cancel_url):
        assert url in hrefs
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
    buttons = [a for tag, a in parsed.tags if tag == "button"]
    assert {b["data-s3b-copy"] for b in buttons} == {"https://s3.example.com", "7-55", "Pw9qAZWSxedc"}
    assert all("hidden" in b for b in buttons)
    assert len(parsed.scripts) == 1
    assert "navigator.clipboard" in parsed.scripts[0]


# --- languages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["arabic", "farsi", "hebrew"])
def test_rtl_languages_set_dir_rtl_on_the_root_element(language: str) -> None:
    html = render_client_area(make_view(language=language))
    root = Tags(html).tags[0]
    assert root[0] == "div"
    assert root[1]["dir"] == "rtl"
    assert root[1]["lang"] == i18n.TAGS[language]
    for fragment in render_admin_tab(make_admin(language=language)).values():
        assert Tags(fragment).tags[0][1]["dir"] == "rtl"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang not in i18n.RTL])
def test_ltr_languages_set_dir_ltr(language: str) -> None:
    assert Tags(render_client_area(make_view(language=language))).tags[0][1]["dir"] == "ltr"


def test_german_shows_translated_labels_and_decimal_commas() -> None:
    text = text_of(render_client_area(make_view(language="german", policy="limited")))
    for label in ("Übersicht", "Benutzername", "Speicherlimit", "Uploads pausiert", "Passwort ändern"):
        assert label in text
    assert "Username" not in text
    assert "Disk limit" not in text
    assert "2,34 GB" in text
    assert "23,40 %" in text


def test_chinese_admin_tab_labels_are_translated() -> None:
    fields = render_admin_tab(make_admin(language="chinese"))
    assert list(fields) == ["API 连接", "用户", "磁盘空间", "存储桶", "最近一次用量更新"]
    assert "连接正常" in fields["API 连接"]


def test_unknown_language_falls_back_to_english() -> None:
    html = render_client_area(make_view(language="klingon"))
    assert 'lang="en"' in html
    assert "Username" in text_of(html)


def test_whmcs_alias_ukrainian_picks_ukranian() -> None:
    assert "Ім'я користувача" in text_of(render_client_area(make_view(language="Ukrainian")))


def test_missing_key_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    real = i18n.catalog

    def without_username(language: str) -> dict[str, str]:
        strings = dict(real(language))
        if language == "german":
            del strings["username"]
        return strings

    monkeypatch.setattr(i18n, "catalog", without_username)
    assert i18n.gettext("german", "username") == "Username"
    assert i18n.gettext("german", "password") == "Passwort"


def test_a_key_english_lacks_is_an_error() -> None:
    with pytest.raises(KeyError):
        i18n.gettext("german", "no-such-key")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_locale_has_every_english_key_with_the_same_placeholders(language: str) -> None:
    english = json.loads((i18n.LOCALES / "english.json").read_text(encoding="utf-8"))
    strings = json.loads((i18n.LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    assert sorted(set(english) - set(strings)) == [], f"{language} misses keys"
    assert sorted(set(strings) - set(english)) == [], f"{language} has keys English lacks"
    for key, text in strings.items():
        assert text.strip(), f"{language}.{key} is empty"
        assert _placeholders(text) == _placeholders(english[key]), f"{language}.{key} placeholders"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "english"])
def test_every_locale_is_translated_not_copied_from_english(language: str) -> None:
    english = i18n.catalog("english")
    strings = i18n.catalog(language)
    same = [k for k in english if strings[k] == english[k]]
    assert len(same) <= len(english) // 8, f"{language}: {same}"


def test_every_whmcs_language_has_a_locale_file_and_a_lang_tag() -> None:
    assert sorted(p.stem for p in i18n.LOCALES.glob("*.json")) == sorted(LANGUAGES)
    assert set(i18n.TAGS) == set(LANGUAGES)
    assert i18n.is_rtl("Arabic")
    assert i18n.is_rtl("persian")
    assert not i18n.is_rtl("english")


def test_sizes_name_their_unit_and_use_the_language_notation() -> None:
    en, de = i18n.translator("english"), i18n.translator("german")
    assert en.size(1536 * 1024**2, "GB") == "1.50\u00a0GB"
    assert de.size(1536 * 1024**2, "GB") == "1,50\u00a0GB"
    assert en.size(5 * 1024**4, "TB") == "5.0000\u00a0TB"
    assert en.size(1, "TB") == "< 0.0001\u00a0TB"
    assert en.size(0, "MB") == "0.00\u00a0MB"
    assert en.size(GB, "bogus") == "1.00\u00a0GB"
    assert en.integer(1234567) == "1,234,567"
    assert de.integer(1234567) == "1\u00a0234\u00a0567"
    assert i18n.translator("turkish").percent("23.40") == "%23,40"


def test_dates_are_iso_everywhere() -> None:
    t = i18n.translator("arabic")
    assert t.day(datetime(2026, 2, 4, 23, 59)) == "2026-02-04"
    assert t.moment(datetime(2026, 2, 4, 11, 45)) == "2026-02-04 11:45"
    assert t.moment(datetime(2026, 2, 4, 11, 45, tzinfo=UTC)) == "2026-02-04 11:45 UTC"
    assert t.day(None) == "—"


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
def test_client_area_escapes_every_customer_influenced_string(payload: str, display: str) -> None:
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


# --- charts ---------------------------------------------------------------------------------------------------


def _chart(bars: list[charts.Bar], unit: str = "GB") -> charts.Chart:
    return charts.bar_chart(bars, unit=unit, chart_id="c1", title="Last 30 days", desc="Daily", no_data="No data yet")


@pytest.mark.parametrize("n", [0, 1, 30])
def test_daily_chart_is_valid_svg_for_0_1_and_30_points(n: int) -> None:
    chart = _chart(charts.daily_bars(make_daily(n)))
    root = parse_svg(chart.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}desc") is not None
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "s3b-chart-bar"]
    assert len(rects) == n
    assert len(chart.rows) == n
    assert chart.empty == (n == 0)
    if n == 0:
        assert "No data yet" in "".join(root.itertext())


def test_daily_bars_cover_the_30_days_ending_at_the_newest_point_with_gaps_left_empty() -> None:
    points = (*make_daily(365), DailyPoint(date(2026, 3, 5), GB))  # a gap on 03-03 and 03-04
    bars = charts.daily_bars(points)
    assert len(bars) == 30
    assert bars[-1].full == "2026-03-05"
    assert bars[0].full == "2026-02-04"
    assert [b.value_bytes for b in bars[-3:]] == [None, None, GB]
    root = parse_svg(_chart(bars).svg)
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "s3b-chart-bar"]) == 28


def test_all_zero_values_draw_a_unit_axis_without_dividing_by_zero() -> None:
    bars = [charts.Bar("01", "2026-01-01", 0), charts.Bar("02", "2026-01-02", 0)]
    chart = _chart(bars)
    ticks = [t.text for t in parse_svg(chart.svg).iter(f"{SVG}text") if t.get("class") == "s3b-chart-tick"]
    assert ticks == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert chart.rows == (("2026-01-01", "0.00 GB"), ("2026-01-02", "0.00 GB"))


def test_chart_values_are_converted_from_bytes_to_the_product_unit() -> None:
    chart = _chart([charts.Bar("01", "2026-01-01", 300 * 1024**2)], unit="MB")
    svg = parse_svg(chart.svg)
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "s3b-chart-tick"]
    unit = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "s3b-chart-unit"]
    assert ticks == ["0", "100", "200", "300"]
    assert unit == ["MB"]
    assert chart.rows == (("2026-01-01", "300.00 MB"),)


def test_monthly_bars_are_in_month_order_and_label_each_month() -> None:
    points = (MonthlyPoint("2026-02", 2 * GB), MonthlyPoint("2025-12", GB), MonthlyPoint("2026-01", 0))
    bars = charts.monthly_bars(points)
    assert [b.label for b in bars] == ["2025-12", "2026-01", "2026-02"]
    root = parse_svg(_chart(bars).svg)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "s3b-chart-x"]
    assert sorted(labels) == ["2025-12", "2026-01", "2026-02"]


def test_chart_text_is_escaped() -> None:
    chart = charts.bar_chart(
        [charts.Bar("<b>", "<script>", GB)], unit="GB", chart_id='x"y', title="<t>", desc="&", no_data="-"
    )
    root = parse_svg(chart.svg)  # parses: nothing broke out of its attribute or element
    assert "<script>" not in str(chart.svg)
    assert root.find(f"{SVG}title") is not None


@pytest.mark.parametrize(
    ("peak", "top", "step"),
    [(0, 1, 0.25), (1, 1, 0.25), (3, 3, 1), (2.7, 3, 1), (0.0234, 0.03, 0.01), (97, 100, 25)],
)
def test_nice_axis_rounds_up_to_a_round_step(peak: float, top: float, step: float) -> None:
    got_top, got_step = charts.nice_axis(peak)
    assert got_top == pytest.approx(top)
    assert got_step == pytest.approx(step)
    assert got_top >= peak


def test_client_area_charts_have_text_alternatives() -> None:
    html = render_client_area(make_view())
    assert html.count('role="img"') == 2
    assert html.count('class="s3b-vh"') >= 2
    assert "Bar chart of the space used each day, in GB." in html
    empty = render_client_area(make_view(daily=(), monthly=()))
    assert text_of(empty).count("No data yet") == 2
