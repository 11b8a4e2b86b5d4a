"""Absolute links follow the site's address: in development (DEBUG) pages build them from the
request; elsewhere they use SITE_URL, which production requires at start-up; `make run` sets the
email links' SITE_URL from its HOST and PORT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import segno
from django.urls import reverse
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = "192.168.1.50:8123"  # a LAN address and port the site happens to be served on


def _qr(url: str) -> str:
    return (
        segno.make(url, error="m")
        .svg_inline(scale=4, title="x", svgclass="qr-code", light="#fff", omitsize=True)
        .split("</title>", 1)[1]
    )


@pytest.fixture
def served_elsewhere(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "192.168.1.50"]
    settings.SITE_URL = "http://127.0.0.1:8000"


@pytest.mark.django_db
def test_receipt_link_and_qr_code_follow_the_request_address_in_development(client, ticket, served_elsewhere):
    response = client.get(reverse("receipt", args=[ticket.tracking_token]), HTTP_HOST=ELSEWHERE)
    assert response.status_code == 200
    html = response.content.decode()
    expected = f"http://{ELSEWHERE}/track/{ticket.tracking_token}/"
    assert expected in html
    assert "127.0.0.1:8000" not in html
    assert _qr(expected) in html  # the QR code encodes that address, not SITE_URL's
    assert _qr(ticket.tracking_url) not in html


@pytest.mark.django_db
def test_api_tracking_url_follows_the_request_address_in_development(client, ticket, served_elsewhere):
    token = Token.objects.create(user=ticket.customer.user)
    body = client.get(
        f"/api/v1/repairs/{ticket.reference}/", HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST=ELSEWHERE
    ).json()
    assert body["tracking_url"] == f"http://{ELSEWHERE}/track/{ticket.tracking_token}/"


@pytest.mark.django_db
def test_outside_development_pages_use_site_url(client, settings, ticket):
    settings.DEBUG = False
    settings.SITE_URL = "https://shop.example.com"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "192.168.1.50"]
    html = client.get(reverse("receipt", args=[ticket.tracking_token]), HTTP_HOST=ELSEWHERE).content.decode()
    assert f"https://shop.example.com/track/{ticket.tracking_token}/" in html
    assert ELSEWHERE not in html


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SITE_URL"))}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "revivatech.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_PRODUCTION": "1",
    "DJANGO_SECRET_KEY": "x" * 60,
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
}


def test_production_refuses_to_start_without_site_url():
    result = _import_settings(**PRODUCTION)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SITE_URL must be set when DJANGO_PRODUCTION=1" in result.stderr


def test_production_starts_with_site_url_and_refuses_a_malformed_one():
    ok = _import_settings(**PRODUCTION, SITE_URL="https://shop.example.com/")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "https://shop.example.com"
    bad = _import_settings(**PRODUCTION, SITE_URL="shop.example.com")
    assert bad.returncode != 0 and "SITE_URL must be an http(s) address" in bad.stderr


def test_development_defaults_site_url_to_the_local_address():
    result = _import_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8000"


def test_make_run_points_email_links_at_its_host_and_port():
    """Every command of `make setup`/`make run` gets SITE_URL from HOST and PORT (unless set)."""
    result = subprocess.run(
        ["make", "-n", "run", f"VENV={Path(sys.executable).parent.parent}", "HOST=10.0.0.5", "PORT=9001"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "MAKEFLAGS"},
    )
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "manage.py" in line or "uvicorn" in line]
    assert any("uvicorn" in line for line in commands) and any("seed_demo" in line for line in commands)
    for line in commands:
        assert "SITE_URL=${SITE_URL:-http://10.0.0.5:9001}" in line, line
        evaluated = subprocess.run(
            ["sh", "-c", line.split(" /")[0] + ' sh -c "echo \\$SITE_URL"'],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "SITE_URL"},
        )
        assert evaluated.stdout.strip() == "http://10.0.0.5:9001"
