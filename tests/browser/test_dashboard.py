"""A staff member opens the live dashboard in Chromium: the charts draw, and a booking made on the
server appears without a reload (pushed over ws/dashboard/); with the connection cut the page says
so and keeps its figures."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.analytics.factories import Visitor, store
from tests.browser_support import run_outside_playwrights_loop
from tests.factories import DEFAULT_PASSWORD, StaffFactory, make_ticket

pytestmark = pytest.mark.browser

LIVE_DEADLINE_MS = 8000  # tick delay (1.5 s) + recompute + render, on a loaded machine


@pytest.fixture
def staff(live_asgi_url):
    """Made before the browser starts, with a visit of today to draw."""
    from django.conf import settings

    from analytics.services import buffer

    if buffer.mode() == "redis":  # nothing left over in the stream by other tests
        buffer.redis_client().delete(settings.ANALYTICS_STREAM_KEY)
    user = StaffFactory()
    now = timezone.now()
    store(Visitor(device_type="mobile"), ("pageview", now, "/"), ("pageview", now, "/book/"))
    buffer.flush_events()
    return user


def _sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/dashboard/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/dashboard/")


def test_dashboard_renders_charts_and_shows_a_booking_live(live_asgi_url, staff, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    _sign_in(page, live_asgi_url, staff.username)
    page.goto(f"{live_asgi_url}/dashboard/?range=today")
    page.wait_for_selector("#dash-live[data-state=live]", timeout=10000)
    # uPlot drew both charts (a canvas each) from the snapshot, under the site's strict CSP.
    page.wait_for_selector("#chart-traffic .uplot canvas", timeout=5000)
    page.wait_for_selector("#chart-funnel .uplot canvas", timeout=5000)
    assert page.text_content("#k-pageviews").strip() == "2"
    assert page.text_content("#k-bookings").strip() == "0"
    assert page.text_content("#k-open-tickets").strip() == "(0)"
    rendered = int(page.evaluate("document.body.dataset.dashboardRendered"))

    def book() -> None:  # a booking, on the server; with Redis the beat task's flush stores its event
        from analytics.services import buffer

        make_ticket()
        buffer.flush_events()

    run_outside_playwrights_loop(book)

    page.wait_for_selector(".activity__item--booking_completed", timeout=LIVE_DEADLINE_MS)
    expect(page.locator("#k-bookings")).to_have_text("1", timeout=LIVE_DEADLINE_MS)
    assert page.text_content("#k-open-tickets").strip() == "(1)"
    assert int(page.evaluate("document.body.dataset.dashboardRendered")) > rendered
    assert page.url.endswith("/dashboard/?range=today")  # never reloaded

    # Connection cut: the indicator says so, the figures stay, the 30 s fallback takes over.
    context.set_offline(True)
    page.wait_for_selector("#dash-live[data-state=offline]", timeout=10000)
    assert "refreshing every 30 s" in page.text_content("#dash-live")
    assert page.text_content("#k-bookings").strip() == "1"
    context.set_offline(False)
    page.wait_for_selector("#dash-live[data-state=live]", timeout=20000)
    assert errors == []


def test_filters_are_in_the_url(live_asgi_url, staff, browser):
    page = browser.new_context().new_page()
    _sign_in(page, live_asgi_url, staff.username)
    page.goto(f"{live_asgi_url}/dashboard/")
    page.wait_for_selector("#dash-live[data-state=live]", timeout=10000)
    page.select_option("#f-range", "today")
    page.select_option("#f-device_type", "desktop")
    page.click("#dash-filters button[type=submit]")
    page.wait_for_url(f"{live_asgi_url}/dashboard/?range=today&device_type=desktop")
    page.wait_for_selector("#dash-live[data-state=live]", timeout=10000)
    expect(page.locator("#k-sessions")).to_have_text("0", timeout=5000)
