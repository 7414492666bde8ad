"""Translations and number/date formatting of the client area and the admin tab (pure, cached).

One JSON file per WHMCS language name in `locales/` (flat key -> text; `{name}` placeholders). A key missing in a
language falls back to English; a key missing in English is a programming error (KeyError). Sizes are shown in the
product's binary unit (1 GB = 1024 MB), converted by `bridge.views.emails.DiskFigures`; dates are ISO (yyyy-mm-dd).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from bridge.domain.product_settings import UNITS
from bridge.views.emails import DiskFigures
from bridge.views.languages import DECIMAL_COMMA, FALLBACK, LANGUAGES, RTL, TAGS, pick_language

LOCALES = Path(__file__).resolve().parent / "locales"
NBSP = "\u00a0"


def is_rtl(language: str) -> bool:
    return pick_language(language) in RTL


@cache
def catalog(language: str, folder: Path = LOCALES) -> dict[str, str]:
    """The strings of one language as stored in `folder` (no fallback); {} for a language without a file."""
    path = folder / f"{language}.json"
    if language not in LANGUAGES or not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected an object of strings")
    return data


def gettext(language: str, key: str, **values: object) -> str:
    """The text of `key` in `language` (English when that language lacks it), placeholders filled."""
    text = catalog(pick_language(language)).get(key)
    if text is None:
        text = catalog(FALLBACK)[key]
    return text.format(**values) if values else text


def unit_of(unit: str) -> str:
    """The product's unit, or GB when it is not one we know (the figures stay right, only coarser or finer)."""
    return unit if unit in UNITS else "GB"


@dataclass(frozen=True)
class Translator:
    """Everything language-dependent a template needs, bound to one (resolved) WHMCS language."""

    language: str

    @property
    def tag(self) -> str:
        return TAGS[self.language]

    @property
    def dir(self) -> str:
        return "rtl" if self.language in RTL else "ltr"

    @property
    def decimal_sep(self) -> str:
        return "," if self.language in DECIMAL_COMMA else "."

    def __call__(self, key: str, **values: object) -> str:
        return gettext(self.language, key, **values)

    def number(self, decimal_text: str) -> str:
        """A decimal string as DiskFigures makes it ("1234.50") in this language's notation."""
        whole, _, frac = decimal_text.partition(".")
        grouped = self.integer(int(whole)) if whole.isdigit() else whole
        return grouped + (self.decimal_sep + frac if frac else "")

    def integer(self, n: int) -> str:
        text = f"{n:,}"
        return text.replace(",", NBSP) if self.language in DECIMAL_COMMA else text

    def percent(self, decimal_text: str) -> str:
        return self("percent", value=self.number(decimal_text))

    def human(self, n_bytes: int) -> str:
        """A size in the unit that suits it (binary: 1 KB = 1024 bytes), in this language's notation."""
        if n_bytes < 1024:
            return f"{self.integer(n_bytes)}{NBSP}B"
        value, units = n_bytes / 1024, ["KB", "MB", "GB", "TB", "PB"]
        while value >= 1024 and len(units) > 1:
            value /= 1024
            units.pop(0)
        return f"{self.number(f'{value:.1f}')}{NBSP}{units[0]}"

    def size(self, n_bytes: int, unit: str) -> str:
        """Bytes in the product's unit with the unit named: "2.34 GB"; "< 0.01 GB" rather than a misleading 0."""
        figures = DiskFigures(used_bytes=0, limit_bytes=0, unit=unit_of(unit))
        text = figures.in_unit(n_bytes)
        if n_bytes > 0 and not text.strip("0."):
            smallest = "0." + text.partition(".")[2][:-1] + "1"
            return f"< {self.number(smallest)}{NBSP}{figures.unit}"
        return f"{self.number(text)}{NBSP}{figures.unit}"

    @staticmethod
    def day(value: date | datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat()

    @staticmethod
    def moment(value: datetime | None) -> str:
        """ "2026-02-04 11:45" (with " UTC" when the time knows its zone)."""
        if value is None:
            return "—"
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + " UTC"
        return value.strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def iso(value: date | datetime) -> str:
        """Machine-readable form for <time datetime="...">."""
        return value.isoformat()


@cache
def translator(language: str) -> Translator:
    return Translator(pick_language(language))
