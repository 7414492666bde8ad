"""The client area's tabs (Overview, Buckets, Files, Access keys, Usage) and the page an action leads to (pure:
view model in, HTML out). Every list is a server-rendered table and every action a form (POST with WHMCS's token),
so the tabs work without JavaScript; the script only adds the upload progress bar and copy buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from bridge.views.i18n import Translator, catalog, gettext, translator
from bridge.views.languages import FALLBACK, pick_language
from bridge.views.render import environment

TABS = ("overview", "buckets", "files", "keys", "usage")
PANEL_LOCALES = Path(__file__).resolve().parent / "locales" / "panel"


def panel_catalog(language: str) -> dict[str, str]:
    return catalog(language, PANEL_LOCALES)


@dataclass(frozen=True)
class PanelText:
    """The panel's strings (locales/panel/), then the client area's, English as the fallback of both."""

    base: Translator

    def __call__(self, key: str, **values: object) -> str:
        text = panel_catalog(self.base.language).get(key) or panel_catalog(FALLBACK).get(key)
        if text is None:
            return gettext(self.base.language, key, **values)
        return text.format(**values) if values else text

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    def human(self, n_bytes: int) -> str:
        """A file's size in the unit that suits it (binary: 1 KB = 1024 bytes), in this language's notation."""
        return self.base.human(n_bytes)


@dataclass(frozen=True)
class PanelPage:
    language: str
    serviceid: int
    tab: str
    page_url: str  # the service's page in WHMCS's client area (relative)
    post_url: str  # where forms post (the module's Panel function)
    csrf_token: str
    s3uid: str
    suspended: bool = False
    # Forms that change something: WHMCS runs a custom function only for an Active service (DESIGN), so a Pending,
    # Suspended, Terminated or Cancelled service's page shows what is there and nothing to press.
    actions: bool = True
    notice: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def link(self, **query: Any) -> str:
        pairs = {k: v for k, v in query.items() if v not in (None, "")}
        return self.page_url + ("&" + urlencode(pairs) if pairs else "")

    def download(self, bucket: str, key: str) -> str:
        return self.post_url + "&" + urlencode({"s3action": "download_url", "bucket_name": bucket, "filename": key})


def render_tab(page: PanelPage, overview_html: str = "") -> str:
    t = PanelText(translator(pick_language(page.language)))
    return (
        environment()
        .get_template("panel/page.html.j2")
        .render(
            page=page,
            t=t,
            d=page.data,
            overview=Markup(overview_html),  # noqa: S704 - rendered (and escaped) by render_client_area
            tabs=TABS,
        )
    )


def render_result(page: PanelPage, envelope: dict[str, Any], action: str) -> str:
    """The page after an action: what happened, a secret shown once, the way back."""
    t = PanelText(translator(pick_language(page.language)))
    return environment().get_template("panel/result.html.j2").render(page=page, t=t, e=envelope, action=action)
