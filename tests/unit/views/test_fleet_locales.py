"""The fleet console's texts (views/locales/fleet/): every WHMCS language has every English key, translated."""

from __future__ import annotations

import json

import pytest

from bridge.views.fleet_render import FLEET_LOCALES, fleet_catalog
from bridge.views.languages import TABLE


def test_the_fleet_folder_has_one_file_per_language() -> None:
    assert sorted(p.stem for p in FLEET_LOCALES.glob("*.json")) == sorted(row.name for row in TABLE)


@pytest.mark.parametrize("language", sorted(p.stem for p in FLEET_LOCALES.glob("*.json")))
def test_every_fleet_locale_has_every_key_and_translates_most(language: str) -> None:
    english = json.loads((FLEET_LOCALES / "english.json").read_text(encoding="utf-8"))
    strings = fleet_catalog(language)
    assert set(strings) == set(english), f"{language}: {sorted(set(english) ^ set(strings))}"
    assert all(v.strip() for v in strings.values())
    if language != "english":
        same = [k for k in english if strings[k] == english[k]]
        assert len(same) <= len(english) // 4, f"{language} copies English: {same}"
