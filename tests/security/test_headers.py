"""Security headers on every page: the strict CSP (with the pay page's and ReDoc's narrow
additions), nosniff, referrer policy, frame denial, COOP, Permissions-Policy; secure settings in
production."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.security.conftest import customer_pages, public_pages, staff_pages

ROOT = Path(__file__).resolve().parents[2]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_secure_headers(response, url: str) -> dict[str, list[str]]:
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", url
    assert response["X-Frame-Options"] == "DENY", url
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions, url
    csp = directives(response)
    assert csp["default-src"] == ["'self'"], url
    assert csp["frame-ancestors"] == ["'none'"], url
    assert csp["object-src"] == ["'none'"], url
    assert csp["base-uri"] == ["'self'"], url
    assert csp["form-action"][0] == "'self'", url
    assert csp["report-uri"] == ["/csp-report/"], url
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], url
    assert "'self'" in csp["connect-src"] and "ws://testserver" in csp["connect-src"], url
    assert csp["img-src"][:3] == ["'self'", "data:", "blob:"], url
    return csp


@pytest.mark.django_db
def test_every_page_sends_the_security_headers(client, due_invoice, customer, staff_user):
    ticket = due_invoice.ticket
    checked = []
    for url in public_pages(ticket):
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        csp = assert_secure_headers(response, url)
        checked.append(url)
        if url != reverse("api-redoc"):
            assert csp["style-src"] == ["'self'"], url
    client.force_login(customer.user)
    for url in customer_pages():
        response = client.get(url)
        assert response.status_code == 200, url
        assert directives(response)["script-src"] == ["'self'"], url
        assert_secure_headers(response, url)
        checked.append(url)
    client.force_login(staff_user)
    for url in staff_pages(ticket):
        response = client.get(url)
        assert response.status_code == 200, url
        csp = assert_secure_headers(response, url)
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], url
        checked.append(url)
    # JSON API answers carry the headers too.
    response = client.get("/api/v1/repairs/")
    assert response.status_code == 200
    assert_secure_headers(response, "/api/v1/repairs/")
    assert len(checked) >= 20


@pytest.mark.django_db
def test_only_the_pay_page_may_load_stripe(client, due_invoice):
    token = due_invoice.ticket.tracking_token
    pay = directives(client.get(reverse("payments:pay", args=[token])))
    assert pay["script-src"] == ["'self'", "https://js.stripe.com"]
    assert set(pay["frame-src"]) == {"https://js.stripe.com", "https://hooks.stripe.com"}
    assert "https://api.stripe.com" in pay["connect-src"]
    # The PayPal button posts to us and we redirect to PayPal: Chromium checks form-action on it.
    assert {"https://www.paypal.com", "https://www.sandbox.paypal.com"} <= set(pay["form-action"])
    track = directives(client.get(reverse("track", args=[token])))
    assert track["script-src"] == ["'self'"]
    assert "frame-src" not in track  # default-src 'self': no third-party frames
    assert track["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_swagger_ui_loads_its_init_script_from_a_url_not_inline(client):
    page = client.get(reverse("api-docs"))
    html = page.content.decode()
    assert "<style" not in html and "<script>" not in html
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_redoc_alone_gets_inline_styles_and_never_inline_scripts(client):
    response = client.get(reverse("api-redoc"))
    csp = directives(response)
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["script-src"] == ["'self'"]
    html = response.content.decode()
    assert "<script>" not in html and "fonts.googleapis.com" not in html


def test_csp_reports_are_logged_and_bounded(client, caplog):
    report = {
        "csp-report": {
            "document-uri": "http://testserver/book/",
            "violated-directive": "script-src-elem",
            "effective-directive": "script-src-elem",
            "blocked-uri": "inline",
            "line-number": 12,
        }
    }
    with caplog.at_level(logging.WARNING, logger="revivatech.security.csp"):
        response = client.post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    assert "script-src-elem" in caplog.text and "/book/" in caplog.text
    modern = [
        {
            "type": "csp-violation",
            "body": {"documentURL": "http://testserver/", "effectiveDirective": "img-src"},
        }
    ]
    assert (
        client.post("/csp-report/", json.dumps(modern), content_type="application/reports+json").status_code
        == 204
    )
    assert client.post("/csp-report/", "not json", content_type="application/csp-report").status_code == 400
    big = json.dumps({"csp-report": {"blocked-uri": "x" * 20_000}})
    assert client.post("/csp-report/", big, content_type="application/csp-report").status_code == 413
    assert client.get("/csp-report/").status_code == 405


def _production_settings(**extra: str) -> dict[str, str]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "k: getattr(s, k) for k in ('SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
        " 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SAMESITE',"
        " 'SECURE_HSTS_SECONDS',"
        " 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_PROXY_SSL_HEADER', 'X_FRAME_OPTIONS')}"
        " | {'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES'].get('upgrade-insecure-requests', False)}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "revivatech.settings",
        "DJANGO_PRODUCTION": "1",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "SITE_URL": "https://shop.example.com",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_force_https_and_secure_cookies():
    values = _production_settings()
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax" and values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    # the scheme comes from uvicorn, which believes X-Forwarded-Proto from the proxy only
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["csp"] is True


@pytest.mark.django_db
def test_https_redirect_hsts_and_secure_cookies_in_production_mode(client, settings, customer):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get(reverse("login"), secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    csrf_cookie = secure.cookies["csrftoken"]
    assert csrf_cookie["secure"] and csrf_cookie["samesite"] == "Lax"
    from tests.factories import DEFAULT_PASSWORD

    login = client.post(
        reverse("login"),
        {"username": customer.user.username, "password": DEFAULT_PASSWORD},
        secure=True,
    )
    assert login.status_code == 302
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
