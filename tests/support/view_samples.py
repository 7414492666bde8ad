"""Sample view models and HTML helpers shared by the page tests (tests/test_views_*.py)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, TypeVar

from bridge.domain.values import DailyPoint, MonthlyPoint
from bridge.views.model import AdminTabView, Bucket, ClientAreaView, Disk

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
