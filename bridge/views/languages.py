"""The languages the product speaks, one row each: the one place to add a language (then its texts: see
docs/ARCHITECTURE.md, "A language").

A row is WHMCS's language name (its own spelling: "ukranian"), the BCP 47 tag for the `lang` attribute, whether it
writes right to left, and whether it writes "2,5" (decimal comma, thousands grouped with a no-break space) rather
than "2.5" (thousands grouped with ",").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    name: str
    tag: str
    rtl: bool = False
    decimal_comma: bool = True


TABLE = (
    Language("arabic", "ar", rtl=True, decimal_comma=False),
    Language("azerbaijani", "az"),
    Language("catalan", "ca"),
    Language("chinese", "zh", decimal_comma=False),
    Language("croatian", "hr"),
    Language("czech", "cs"),
    Language("danish", "da"),
    Language("dutch", "nl"),
    Language("english", "en", decimal_comma=False),
    Language("estonian", "et"),
    Language("farsi", "fa", rtl=True, decimal_comma=False),
    Language("french", "fr"),
    Language("german", "de"),
    Language("hebrew", "he", rtl=True, decimal_comma=False),
    Language("hungarian", "hu"),
    Language("italian", "it"),
    Language("macedonian", "mk"),
    Language("norwegian", "nb"),
    Language("polish", "pl"),
    Language("romanian", "ro"),
    Language("russian", "ru"),
    Language("spanish", "es"),
    Language("swedish", "sv"),
    Language("turkish", "tr"),
    Language("ukranian", "uk"),
)
# Names WHMCS installs may use for one of the above.
ALIASES = {"ukrainian": "ukranian", "persian": "farsi", "portuguese-pt": "english", "nederlands": "dutch"}
FALLBACK = "english"

LANGUAGES = tuple(language.name for language in TABLE)
TAGS = {language.name: language.tag for language in TABLE}
RTL = frozenset(language.name for language in TABLE if language.rtl)
DECIMAL_COMMA = frozenset(language.name for language in TABLE if language.decimal_comma)


def pick_language(name: str | None) -> str:
    """The product's language for WHMCS's language name (an alias resolved), English when it speaks none such."""
    key = (name or "").strip().lower()
    key = ALIASES.get(key, key)
    return key if key in LANGUAGES else FALLBACK
