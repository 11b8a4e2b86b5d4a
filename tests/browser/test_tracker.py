"""The analytics tracker in real Chromium: consent, scrolling, rage clicks, history navigation,
the booking form, leaving pages; the expected events are stored, linked to the booking customer."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import close_old_connections

from analytics.models import Event, Session, TrackedDevice
from analytics.services import buffer, identity
from repairs.models import RepairTicket

pytestmark = pytest.mark.browser

#: Headless Chromium announces itself as "HeadlessChrome", which the ingestion drops as a bot:
#: the test browses as an ordinary desktop Chrome. The flag (not only the context's override) also
#: covers the beacons a page sends while it unloads, which the browser process sends itself.
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
MIDDLEWARE = "analytics.middleware.AnalyticsRequestMiddleware"


@pytest.fixture(autouse=True)
def _analytics_wiring(settings):
    """The request middleware installed as the README asks (before the live server loads it), and a
    clean rate-limit cache, salt cache and Redis stream."""
    if MIDDLEWARE not in settings.MIDDLEWARE:
        position = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
        settings.MIDDLEWARE = [*settings.MIDDLEWARE[:position], MIDDLEWARE, *settings.MIDDLEWARE[position:]]
    cache.clear()
    identity.forget_cached_salts()
    if buffer.mode() == "redis":
        buffer.redis_client().delete(settings.ANALYTICS_STREAM_KEY)


@pytest.fixture
def desktop_chrome(monkeypatch):
    """Debian's Chromium (as tests/browser_support.py launches it) with a desktop user agent."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM, CHROMIUM_FLAGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_FLAGS, f"--user-agent={DESKTOP_CHROME}"],
            headless=True,
        )
        yield chromium
        chromium.close()


def _database() -> None:
    """The test's ORM calls run under Playwright's event loop, whose context may hold a connection
    that an earlier browser test's teardown terminated: have it checked (and reopened) first."""
    close_old_connections()


def _stored_when(condition, timeout: float = 10.0):
    """Flush the buffer (Redis mode) until ``condition()`` holds."""
    _database()
    deadline = time.monotonic() + timeout
    while True:
        buffer.flush_events()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not stored in {timeout} s: {sorted(Event.objects.values_list('type', 'path'))}"
            )
        time.sleep(0.2)


def test_the_tracker_records_a_visit_end_to_end(live_asgi_url, desktop_chrome):
    context = desktop_chrome.new_context(user_agent=DESKTOP_CHROME, viewport={"width": 1000, "height": 500})
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(error))

    # First visit: the consent banner asks; the visitor allows a device id.
    page.goto(f"{live_asgi_url}/")
    page.wait_for_selector("#rt-consent:not([hidden])")
    page.click("#rt-consent [data-consent='1']")
    page.wait_for_selector("#rt-consent", state="hidden")
    assert {c["name"] for c in context.cookies()} >= {"rt_consent", "rt_did"}

    # Scroll to the bottom, rage-click the heading (not clickable: dead clicks too), leave through the top.
    page.mouse.move(500, 250)
    for _ in range(8):
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(60)
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#hero-title").bounding_box()
    x, y = box["x"] + 20, box["y"] + 10
    for _ in range(3):
        page.mouse.click(x, y)
    page.wait_for_timeout(1200)  # dead clicks are judged after a second without any change
    page.mouse.move(500, 5)
    page.mouse.move(500, -20)
    # A client-side navigation (history API) counts as a page view.
    page.evaluate("history.pushState({}, '', '/spa-step/')")
    page.wait_for_timeout(100)

    # The booking form: start, fields, submit; the booking page redirects to the tracking page.
    page.click(".hero a.button")  # "Book a repair"
    page.wait_for_url(f"{live_asgi_url}/book/")
    page.fill("[name=name]", "Dana Scully")
    page.fill("[name=email]", "dana@example.com")
    page.select_option("[name=kind]", "laptop")
    page.fill("[name=brand]", "Framework")
    page.fill("[name=model]", "Laptop 13")
    page.fill("[name=condition_on_intake]", "Like new")
    page.fill("[name=problem_description]", "Keyboard stopped working after a coffee spill.")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_asgi_url}/track/**")
    _database()
    ticket = RepairTicket.objects.get()
    page.wait_for_timeout(300)
    page.click(".site-nav a[href='/book/']")  # and on to another page
    page.wait_for_url(f"{live_asgi_url}/book/")

    _stored_when(lambda: Event.objects.filter(type=18, path="/track/{token}/").exists())
    types = set(Event.objects.values_list("type", flat=True))
    names = {Event(type=t).type_name for t in types}
    expected = {
        "pageview", "click", "scroll", "rage_click", "dead_click", "exit_intent", "page_leave", "web_vital",
        "form_start", "field_focus", "form_submit", "booking_started", "booking_completed",
    }  # fmt: skip
    assert expected <= names, expected - names

    depths = sorted(Event.objects.filter(type=3, path="/").values_list("props__depth", flat=True))
    assert depths == [25, 50, 75, 100]
    rage = Event.objects.get(type=15)
    assert rage.props["count"] == 3 and rage.props["sel"].startswith("h1#hero-title")
    assert Event.objects.filter(type=16, path="/").count() == 3  # each click of the burst was dead
    pageviews = list(
        Event.objects.filter(type=1).order_by("occurred_at", "id").values_list("path", "props__nav")
    )
    assert pageviews == [
        ("/", "load"),
        ("/spa-step/", "history"),
        ("/book/", "load"),
        ("/track/{token}/", "load"),
        ("/book/", "load"),  # sent as the page loads: a page view never waits for the page to be left
    ]
    leave = Event.objects.filter(type=18, path="/").get()
    assert 1000 < leave.props["engaged_ms"] < 60_000
    fields = list(
        Event.objects.filter(type=5).order_by("occurred_at", "id").values_list("props__field", flat=True)
    )
    assert fields[:2] == ["name", "email"] and "problem_description" in fields
    vitals = set(Event.objects.filter(type=19).values_list("props__name", flat=True))
    assert {"FCP", "TTFB"} <= vitals

    # One visit, on the consented device, now linked to the customer who booked.
    session = Session.objects.get()
    assert session.pages[:4] == ["/", "/spa-step/", "/book/", "/track/{token}/"]
    assert session.customer == ticket.customer and session.device_id is not None
    assert session.browser == "Chrome" and session.device_type == "desktop" and not session.is_bounce
    assert TrackedDevice.objects.get(id=session.device_id).customer == ticket.customer
    completed = Event.objects.get(type=9)
    assert completed.session == session and completed.customer == ticket.customer
    assert not Event.objects.filter(props__icontains=ticket.tracking_token).exists()
    assert page_errors == []
    context.close()
