"""Translations of the pages: right-to-left, fallbacks, every locale complete, sizes and dates (pure rendering)."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime

import pytest

from bridge.views import i18n
from bridge.views.languages import LANGUAGES, RTL, TAGS
from bridge.views.render import render_admin_tab, render_client_area
from rig.paths import REPO
from tests.support.view_samples import GB, Tags, make_admin, make_view, text_of

# --- languages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["arabic", "farsi", "hebrew"])
def test_rtl_languages_set_dir_rtl_on_the_root_element(language: str) -> None:
    html = render_client_area(make_view(language=language))
    root = Tags(html).tags[0]
    assert root[0] == "div"
    assert root[1]["dir"] == "rtl"
    assert root[1]["lang"] == TAGS[language]
    for fragment in render_admin_tab(make_admin(language=language)).values():
        assert Tags(fragment).tags[0][1]["dir"] == "rtl"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang not in RTL])
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
    assert set(TAGS) == set(LANGUAGES)
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


def test_every_language_of_the_table_has_all_its_texts() -> None:
    """Adding a language is one row in views/languages.py and its texts: each of them must be there."""
    for name in LANGUAGES:
        for path in (
            i18n.LOCALES / f"{name}.json",
            i18n.LOCALES / "panel" / f"{name}.json",
            i18n.LOCALES / "fleet" / f"{name}.json",
            *(REPO / "email_templates" / name / f"{kind}.{part}.j2" for kind in ("warning", "suspension")
              for part in ("html", "subject")),
        ):  # fmt: skip
            assert path.is_file(), f"{name}: {path} is missing"
