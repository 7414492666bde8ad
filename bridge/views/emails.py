"""Customer emails about disk usage: language choice, unit-correct figures, rendering, and the SendEmail effect."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup, escape

from bridge.domain import effects, phpserialize
from bridge.domain.product_settings import UNITS
from bridge.views.languages import pick_language

EmailKind = Literal["warning", "suspension"]


def _fmt(value: Decimal, places: int = 2) -> str:
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{q:f}"


@dataclass(frozen=True)
class DiskFigures:
    """Used/free/limit in the product's binary unit, and percentages; everything an email or page shows."""

    used_bytes: int
    limit_bytes: int
    unit: str

    @property
    def coefficient(self) -> int:
        return UNITS[self.unit]

    def in_unit(self, n_bytes: int) -> str:
        return _fmt(Decimal(n_bytes) / Decimal(self.coefficient), 4 if self.unit in {"TB", "PB"} else 2)

    @property
    def free_bytes(self) -> int:
        return max(self.limit_bytes - self.used_bytes, 0)

    @property
    def pct_used(self) -> str:
        if self.limit_bytes <= 0:
            return "0.00"
        return _fmt(Decimal(self.used_bytes) * 100 / Decimal(self.limit_bytes))

    @property
    def pct_free(self) -> str:
        if self.limit_bytes <= 0:
            return "100.00"
        return _fmt(max(Decimal(100) - Decimal(self.pct_used), Decimal(0)))

    def context(self) -> dict[str, Any]:
        return {
            "limit": self.in_unit(self.limit_bytes),
            "used": self.in_unit(self.used_bytes),
            "free": self.in_unit(self.free_bytes),
            "unit": self.unit,
            "pct_used": self.pct_used,
            "pct_free": self.pct_free,
        }

    def whmcs_merge_fields(self, username: str) -> dict[str, Any]:
        c = self.context()
        return {
            "username": username,
            "disk_limit_unit": c["limit"],
            "disk_used_unit": c["used"],
            "disk_free_unit": c["free"],
            "disk_used_percentage": c["pct_used"],
            "disk_free_percentage": c["pct_free"],
            "unit": self.unit,
            "unit_note": f"1 {self.unit} = {self.coefficient} bytes (binary, {self.unit[0]}iB)",
            "disk_limit_bytes": self.limit_bytes,
            "disk_used_bytes": self.used_bytes,
            "unit_coefficient": self.coefficient,
        }


def whmcs_safe(text: str) -> Markup:
    """Client-supplied text in HTML a WHMCS template may see (pages, charts): HTML-escaped, and with braces as
    entities so no Smarty tag can form. Not for email bodies: WHMCS decodes those once before Smarty parses them, so
    customer text goes in `customvars` (Mailer.effect)."""
    escaped = str(escape(text)).replace("{", "&#123;").replace("}", "&#125;")
    return Markup(escaped)  # noqa: S704 - built from escape() output: no markup can come through


class Mailer:
    def __init__(self, templates_dir: Path) -> None:
        if not (templates_dir / "_layout.html.j2").is_file():
            raise FileNotFoundError(f"email templates not found in {templates_dir}")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
        )

    def render(self, kind: EmailKind, language: str, context: dict[str, Any]) -> tuple[str, str]:
        lang = pick_language(language)
        subject = self.env.get_template(f"{lang}/{kind}.subject.j2").render(context).strip()
        body = self.env.get_template(f"{lang}/{kind}.html.j2").render(context)
        return " ".join(subject.split()), body

    def effect(
        self,
        *,
        kind: EmailKind,
        serviceid: int,
        language: str,
        client_name: str,
        product_name: str,
        username: str,
        figures: DiskFigures,
        whmcs_template: str,
    ) -> dict[str, Any]:
        """SendEmail: the product's named WHMCS template with merge fields, else our rendered custom email."""
        if whmcs_template:
            return effects.localapi(
                "SendEmail",
                messagename=whmcs_template,
                id=serviceid,
                customvars=phpserialize.customvars(figures.whmcs_merge_fields(username)),
            )
        # WHMCS undoes escaping in a custom message (localAPI decodes then encodes its input, sendemail.php decodes
        # the message again) and renders it as a Smarty template: text a client or an admin typed must not be in
        # the body. It travels in `customvars` (passed untouched), HTML-escaped, and the body names it.
        slots = {name: Markup("\x00" + name + "\x00") for name in CUSTOMER_TEXT}  # noqa: S704 - our own fixed slot
        context: dict[str, Any] = {**slots, "username": username, **figures.context()}
        subject, body = self.render(kind, language, context)
        values = {"client_name": client_name, "product_name": product_name}
        return effects.localapi(
            "SendEmail",
            customtype="product",
            customsubject=smarty_text(subject),
            custommessage=smarty_text(one_line(body)),
            customvars=phpserialize.customvars({VAR_PREFIX + k: str(escape(v)) for k, v in values.items()}),
            nonl2br=True,
            id=serviceid,
        )


CUSTOMER_TEXT = ("client_name", "product_name")
VAR_PREFIX = "s3bridge_"


def smarty_text(rendered: str) -> str:
    """Our rendered email as the Smarty template WHMCS makes of it: every literal brace as Smarty's {ldelim} /
    {rdelim}, and each customer-text slot as its `customvars` variable."""
    text = rendered.replace("{", "\x01").replace("}", "\x02").replace("\x01", "{ldelim}").replace("\x02", "{rdelim}")
    for name in CUSTOMER_TEXT:
        text = text.replace("\x00" + name + "\x00", "{$" + VAR_PREFIX + name + "}")
    return text


def one_line(html: str) -> str:
    """The HTML body without line breaks: WHMCS runs nl2br on a custom message unless `nonl2br` is passed (8.12 reads
    it; the docs do not list it), which puts stray <br> between table rows. No newline, nothing to convert."""
    return " ".join(line.strip() for line in html.splitlines() if line.strip())
