"""The service worker keeps a tracking page readable offline, clearly marked as such."""

import pytest

from tests.factories import TechnicianFactory, advance, make_ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def received_ticket(live_asgi_url):
    technician = TechnicianFactory()
    return advance(make_ticket(technician=technician), "received", by=technician)


def test_tracking_page_opened_before_still_shows_its_status_offline(live_asgi_url, received_ticket, browser):
    context = browser.new_context()
    page = context.new_page()
    url = f"{live_asgi_url}/track/{received_ticket.tracking_token}/"
    page.goto(url)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()  # now controlled by the worker, which caches the page on the way through
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#live-indicator[data-state=live]")
    assert page.evaluate("() => caches.has('tracking-pages-v1')")

    context.set_offline(True)
    page.reload()
    assert page.text_content("#ticket-status").strip() == "Received"
    banner = page.wait_for_selector("#offline-banner")
    # The page says it is a saved copy, and from when (the service worker stamps it).
    assert "Saved copy from" in banner.text_content() and "you are offline" in banner.text_content()
    assert "last updated" in banner.text_content()
    assert page.get_attribute("#live-indicator", "data-state") == "offline"
    assert page.text_content("#live-indicator").startswith("Saved copy from")

    # A page never opened before falls back to the offline page instead of the browser's error.
    page.goto(f"{live_asgi_url}/book/")
    assert "You are offline" in page.text_content("h1")

    context.set_offline(False)
    page.goto(url)
    page.wait_for_selector("#live-indicator[data-state=live]")
    assert page.query_selector("#offline-banner") is None
