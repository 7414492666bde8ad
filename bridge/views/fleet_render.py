"""The fleet console's pages (WHMCS addon s3bridge_fleet): Servers, Accounts, Drift (pure: view model in, HTML out).
Every string is untrusted and escaped by the template environment; the chart is inline SVG; no script at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from bridge.domain.fleet import DaemonBeat, state_of
from bridge.views.charts import Bar, Chart, bar_chart
from bridge.views.i18n import Translator, catalog, translator
from bridge.views.languages import FALLBACK
from bridge.views.render import environment

PAGES = ("servers", "accounts", "drift")
FLEET_LOCALES = Path(__file__).resolve().parent / "locales" / "fleet"


def fleet_catalog(language: str) -> dict[str, str]:
    return catalog(language, FLEET_LOCALES)


@dataclass(frozen=True)
class FleetText:
    """The console's strings (locales/fleet/, English as the fallback) and the client area's number formats."""

    base: Translator

    def __call__(self, key: str) -> str:
        return fleet_catalog(self.base.language).get(key) or fleet_catalog(FALLBACK)[key]

    @property
    def tag(self) -> str:
        return self.base.tag

    @property
    def dir(self) -> str:
        return self.base.dir

    def integer(self, n: int) -> str:
        return self.base.integer(n)

    def moment(self, value: datetime | None) -> str:
        return self.base.moment(value) if value is not None else self("never")

    def growth(self, n_bytes: int) -> str:
        """A change in storage, signed: "+1.5 GB", U+2212 MINUS SIGN before a shrink, none for 0 B."""
        sign = "+" if n_bytes > 0 else "\u2212" if n_bytes < 0 else ""
        return sign + self.human(abs(n_bytes))

    def human(self, n_bytes: int) -> str:
        return self.base.human(n_bytes)


@dataclass(frozen=True)
class Probe:
    """A storage server as this daemon reaches it now (known: the daemon has its credentials from WHMCS's calls)."""

    known: bool
    ok: bool = False
    version: str = ""
    rtt_ms: int = 0
    message: str = ""


@dataclass(frozen=True)
class FleetPage:
    language: str
    page: str
    link: str  # the addon's own URL in WHMCS's admin area (addonmodules.php?module=s3bridge_fleet)
    now: datetime
    daemons: tuple[DaemonBeat, ...] = ()
    servers: tuple[object, ...] = ()
    search: str = ""
    found: tuple[object, ...] = ()
    lists: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    drift: tuple[object, ...] = ()
    probes: Mapping[int, Probe] = field(default_factory=dict)
    refused_hour: int = 0
    counts: Mapping[str, object] = field(default_factory=dict)  # daemon id: its refused and overloaded in the hour
    overloaded_hour: int = 0
    notice: str = ""  # what a repair did
    csrf_token: str = ""  # WHMCS's admin token for the Drift page's repair forms

    def href(self, **query: str) -> str:
        return self.link + "&" + urlencode({k: v for k, v in query.items() if v})


def _top_chart(page: FleetPage, t: FleetText, name: str = "top", figure: str = "used_bytes") -> Chart:
    rows = page.lists.get(name, ())
    bars = [Bar(str(getattr(r, "serviceid", "")), str(getattr(r, "username", "")), int(getattr(r, figure, 0)))
            for r in rows]  # fmt: skip
    title = t("top" if name == "top" else f"top_{name}")
    return bar_chart(bars, unit="GB", chart_id=f"s3b-fleet-{name}", title=title, desc=title, no_data=t("none"),
                     decimal_sep=t.base.decimal_sep)  # fmt: skip


def render_fleet(page: FleetPage) -> str:
    t = FleetText(translator(page.language))
    template = environment().get_template("fleet.html.j2")
    states = {d.daemon_id: state_of(d, page.now) for d in page.daemons}
    return template.render(
        p=page,
        t=t,
        pages=PAGES,
        states=states,
        chart=_top_chart(page, t) if page.page == "accounts" else None,
        traffic_chart=_top_chart(page, t, "traffic", "figure") if page.page == "accounts" else None,
    )
