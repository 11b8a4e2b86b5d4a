"""After logout nothing of the customer's private pages stays in the browser's caches: the worker
never stores pages of a signed-in session, and the logout answer clears the site's storage
(issue #15, item 7). Real Chromium, at phone and desktop sizes."""

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import CustomerWithLoginFactory, TechnicianFactory, advance, image_file, make_ticket

pytestmark = pytest.mark.browser

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


@pytest.fixture
def signed_in(live_asgi_url):
    from repairs import services

    technician = TechnicianFactory()
    customer = CustomerWithLoginFactory()
    ticket = advance(make_ticket(customer=customer, technician=technician), "received", by=technician)
    services.add_photo(
        ticket, image=image_file(), category="diagnosis", visible_to_customer=True, by=technician
    )
    client = Client()
    client.force_login(customer.user)
    return ticket, client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
def test_logout_leaves_no_private_page_in_the_caches(live_asgi_url, signed_in, browser, viewport):
    ticket, session_key = signed_in
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": live_asgi_url}])
    page = context.new_page()
    url = f"{live_asgi_url}/track/{ticket.tracking_token}/"
    page.goto(url)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()  # now controlled by the worker: what it would keep goes through it
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#live-indicator[data-state=live]")
    page.wait_for_load_state("networkidle")
    assert not [u for u in page.evaluate(CACHED_URLS) if u.startswith("/track/")]  # signed in: not kept
    page.evaluate("() => localStorage.setItem('rt-private', 'left by the session')")

    page.click("form[action='/account/logout/'] button")
    page.wait_for_url(f"{live_asgi_url}/")
    page.wait_for_load_state("networkidle")
    leftovers = [u for u in page.evaluate(CACHED_URLS) if u.startswith(("/track/", "/photos/", "/account/"))]
    assert leftovers == []
    assert page.evaluate("() => localStorage.getItem('rt-private')") is None  # Clear-Site-Data: storage
    context.close()


def test_a_guests_tracking_link_keeps_its_offline_copy(live_asgi_url, signed_in, browser):
    ticket, _session_key = signed_in
    context = browser.new_context()
    page = context.new_page()
    url = f"{live_asgi_url}/track/{ticket.tracking_token}/"
    page.goto(url)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#live-indicator[data-state=live]")
    assert f"/track/{ticket.tracking_token}/" in page.evaluate(CACHED_URLS)
    context.close()
