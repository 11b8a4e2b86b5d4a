"""The ready-by panel of the tracking page, in Chromium at phone and desktop sizes: shown from the
booking on, updated live when the workshop moves the repair on, hidden once it is closed."""

from __future__ import annotations

import pytest

from repairs import services
from tests.browser.test_live_tracking import LIVE_DEADLINE_MS
from tests.browser_support import run_outside_playwrights_loop
from tests.factories import CustomerFactory, TechnicianFactory, make_ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def booked_ticket(live_asgi_url):
    return make_ticket(customer=CustomerFactory(), technician=TechnicianFactory())


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}])
def test_ready_by_panel_follows_the_repair_live(live_asgi_url, booked_ticket, browser, viewport):
    ticket = booked_ticket
    page = browser.new_context(viewport=viewport).new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)
    panel = page.locator("#ready-by")
    assert panel.is_visible()
    assert "once we have your device" in panel.locator("[data-field=headline]").text_content()
    assert "the clock stops while we wait for your approval" in panel.text_content()
    # The panel fits the screen (no sideways scrolling on a phone).
    width = page.locator("#ready-by").bounding_box()["width"]
    assert width <= viewport["width"]

    run_outside_playwrights_loop(lambda: services.transition_ticket(ticket, "received"))
    # Locator waits (the page's CSP forbids the eval a wait_for_function would need).
    page.wait_for_selector(
        "#ready-by [data-field=headline]:text-matches('^Ready by')", timeout=LIVE_DEADLINE_MS
    )
    assert "Most likely between" in panel.locator("[data-field=detail]").text_content()

    run_outside_playwrights_loop(lambda: services.transition_ticket(ticket, "unrepairable"))
    page.wait_for_selector("#ready-by", state="hidden", timeout=LIVE_DEADLINE_MS)
    assert not errors
