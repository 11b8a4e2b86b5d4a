"""docs/settings-reference.md is generated from the settings' source: it must match what the code reads."""

from __future__ import annotations

import importlib.util

from revivatech.settings.base import BASE_DIR


def test_the_settings_reference_is_current():
    spec = importlib.util.spec_from_file_location(
        "settings_reference", BASE_DIR / "scripts/settings_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (BASE_DIR / "docs/settings-reference.md").read_text()
    assert committed == module.render(), (
        "stale: run `make settings-reference` and commit docs/settings-reference.md"
    )


def test_every_variable_read_is_in_it():
    text = (BASE_DIR / "docs/settings-reference.md").read_text()
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FALLBACKS", "SITE_URL"):
        assert f"`{name}`" in text
