"""Production refuses to start while mail would come from no-reply@localhost."""

from __future__ import annotations

import pytest

from notifications.checks import check_sender_address


@pytest.mark.parametrize(
    ("production", "sender", "refused"),
    [
        (True, "RevivaTech <no-reply@localhost>", True),
        (True, "", True),
        (True, "repairs@shop", True),
        (True, "RevivaTech <repairs@revivatech.example>", False),
        (False, "RevivaTech <no-reply@localhost>", False),  # development: fine
    ],
)
def test_the_sender_check(settings, production, sender, refused):
    settings.PRODUCTION = production
    settings.DEFAULT_FROM_EMAIL = sender
    errors = check_sender_address(None)
    assert [e.id for e in errors] == (["notifications.E004"] if refused else [])


def test_default_from_email_comes_from_the_environment(monkeypatch):
    import importlib

    import revivatech.settings.notifications as module

    monkeypatch.setenv("DEFAULT_FROM_EMAIL", "Shop <desk@shop.example>")
    try:
        assert importlib.reload(module).DEFAULT_FROM_EMAIL == "Shop <desk@shop.example>"
    finally:
        monkeypatch.delenv("DEFAULT_FROM_EMAIL")
        importlib.reload(module)


def test_production_start_up_stops_on_the_placeholder_sender():
    import secrets

    from tests.project.test_setup import _run_manage

    common = {
        "DJANGO_PRODUCTION": "1",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "SITE_URL": "https://shop.example.com",
    }
    refused = _run_manage("check", **common)
    assert refused.returncode != 0 and "notifications.E004" in refused.stderr
    accepted = _run_manage("check", **common, DEFAULT_FROM_EMAIL="RevivaTech <repairs@shop.example.com>")
    assert accepted.returncode == 0, accepted.stderr
