"""The tracker file and where it is loaded: customer pages only, with the consent banner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from whitenoise.compress import Compressor

from tests.factories import DEFAULT_PASSWORD, CustomerWithLoginFactory, StaffFactory, TechnicianFactory

pytestmark = pytest.mark.django_db

STATIC = Path(settings.BASE_DIR) / "static" / "analytics"
TEMPLATES = Path(settings.BASE_DIR) / "templates" / "analytics"
TRACKER_TAG = re.compile(
    r'<script src="/static/analytics/tracker\.js" defer data-endpoint="/api/v1/events/" data-book="/book/" '
    r'data-consent="rt_consent=1\.1">'
)
GZIP_BUDGET = 3584  # 3.5 KB (2.5 KB before delivery that survives navigation: storage, resend, online)


def test_the_tracker_is_under_3_5_kb_gzipped_and_has_no_dependencies():
    source = (STATIC / "tracker.js").read_bytes()
    assert len(Compressor.compress_gzip(source)) <= GZIP_BUDGET  # as WhiteNoise serves it
    text = source.decode()
    assert "import " not in text and "require(" not in text and "://" not in text
    for event_type in (
        "pageview",
        "click",
        "scroll",
        "form_start",
        "field_focus",
        "form_submit",
        "form_abandon",
        "booking_started",
        "quote_approved",
        "quote_declined",
        "rage_click",
        "dead_click",
        "exit_intent",
        "page_leave",
        "web_vital",
        "js_error",
        "custom",
    ):
        assert f'"{event_type}"' in text
    assert "sendBeacon" in text and "keepalive" in text
    # Delivery that survives navigation: sent when hidden or left, kept in the tab only with consent.
    assert '"pagehide"' in text and '"visibilitychange"' in text and '"online"' in text
    assert "sessionStorage" in text and "localStorage" not in text and "c.consent" in text
    assert "doNotTrack" in text and "globalPrivacyControl" in text


def test_no_inline_script_or_style_in_the_analytics_templates():
    for template in TEMPLATES.rglob("*.html"):
        html = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template
        assert "style=" not in html and "<style" not in html, template
        assert not re.search(r"\son[a-z]+=", html), template


def _login(client, user):
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)


def test_customer_pages_load_the_tracker_and_ask_for_consent_on_the_first_visit(client):
    page = client.get("/").content.decode()
    assert TRACKER_TAG.search(page)
    assert '<script src="/static/analytics/consent.js" defer></script>' in page
    assert 'id="rt-consent"' in page and 'data-ask="1"' in page
    assert 'data-endpoint="/api/v1/analytics/consent/"' in page
    assert 'data-csrf-cookie="csrftoken"' in page
    _login(client, CustomerWithLoginFactory().user)
    assert TRACKER_TAG.search(client.get("/account/repairs/").content.decode())


def test_the_banner_stays_closed_once_chosen_or_under_do_not_track(client):
    client.cookies["rt_consent"] = "1.0"
    assert 'data-ask="0"' in client.get("/book/").content.decode()
    assert 'data-ask="0"' in client.get("/book/", HTTP_SEC_GPC="1").content.decode()
    client.cookies["rt_consent"] = "1.1"
    assert "(device remembered)" in client.get("/book/").content.decode()


@pytest.mark.parametrize("role", ["staff", "technician"])
def test_the_shops_own_people_are_never_tracked(client, role):
    _login(client, StaffFactory() if role == "staff" else TechnicianFactory())
    for url in ("/", "/book/", "/account/repairs/"):
        page = client.get(url).content.decode()
        assert "analytics/tracker.js" not in page and "rt-consent" not in page, url


def test_admin_and_excluded_paths_never_load_the_tracker(client, settings):
    assert "tracker.js" not in client.get("/admin/login/").content.decode()
    settings.ANALYTICS_EXCLUDED_PATHS = ["/book/"]
    assert "tracker.js" not in client.get("/book/").content.decode()
    assert "tracker.js" in client.get("/").content.decode()
    settings.ANALYTICS_ENABLED = False
    assert "tracker.js" not in client.get("/").content.decode()


def test_staff_see_the_analytics_entry_in_the_navigation(client):
    _login(client, StaffFactory())
    assert 'href="/admin/analytics/"' in client.get("/").content.decode()
    client.logout()
    assert 'href="/admin/analytics/"' not in client.get("/").content.decode()
