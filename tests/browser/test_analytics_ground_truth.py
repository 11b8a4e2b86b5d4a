"""Ground truth of the analytics: real Chromium visitors follow scripted journeys and the dashboard
API (as staff) must report exactly what they did: visitors, page views, sessions, bounces, top
pages, each funnel step and the conversions outside the funnel.

Each visitor is its own Chromium (its own user agent, so its own anonymous visitor key: all run
from 127.0.0.1) with the site's service worker installed as a customer's browser would have it.
Nothing in the browser is injected or frozen except the Do-Not-Track / Global Privacy Control
settings of the two visitors who ask not to be tracked (a browser setting Playwright cannot set).
The expected figures do not depend on the date: the dashboard is filtered by the UTC day(s) the
test ran, computed at run time. The buffer is flushed by the flush service (``flush_events``).

Exact: direct navigation, link clicks, back/forward (bfcache or not), reload, tab close, a
booking, consent given (mid-visit: one visit, one visitor) and refused, offline then online
(with consent the unsent events wait in the tab), DNT and GPC (nothing at all), phone and desktop:
every figure below is asserted exactly, with one leave event per page left.
Lossy by nature, and the only loss allowed: a killed browser loses what it had not sent or what
was still on its way. Page views are sent (beacon) as each page loads, so they are exact once that
beacon was answered; the events after it (here the last page's ``page_leave``) are lost: exactly
one leave event, the killed browser's last page.

The script waits on conditions, never on time: each navigation until the new page's page view was
answered, each closed tab until its leave beacon was stored before the browser quits (a visitor's
browser goes on running after a tab closes), and the end until everything sent is stored.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.utils import timezone

from analytics.models import Event, EventType, Session
from analytics.services import buffer
from tests.analytics.dashboard.conftest import sign_in
from tests.browser.test_tracker import _analytics_wiring, _database  # noqa: F401 (autouse fixture)
from tests.browser_support import CHROMIUM, CHROMIUM_FLAGS, run_outside_playwrights_loop
from tests.factories import StaffFactory, make_ticket

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.{n}.0 Safari/537.36"
)
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.{n}.0 Mobile Safari/537.36"
)
EVENTS = "/api/v1/events/"


@dataclass
class Truth:
    """What the visitors did, as the script knows it."""

    pages: Counter = field(default_factory=Counter)  # page views per stored path
    visitors: int = 0
    bounces: int = 0
    funnel: Counter = field(default_factory=Counter)  # people per step name
    counter_bookings: int = 0

    @property
    def pageviews(self) -> int:
        return sum(self.pages.values())

    def visit(self, *paths: str, funnel: tuple[str, ...] = ()) -> None:
        """One tracked visitor, one visit, these page views in order."""
        self.visitors += 1
        self.pages.update(paths)
        self.bounces += len(paths) == 1  # one page, well under 10 s engaged, no conversion
        self.funnel.update(("landing", *(("book_page",) if "/book/" in paths else ()), *funnel))


@pytest.fixture
def chromium(monkeypatch):
    """A launcher of separate Chromium instances (one per visitor), closed at the end."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = []

        def launch(user_agent: str):
            # The flag (not only the context's option) also covers the beacons the browser process
            # sends for a page that is unloading.
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=[*CHROMIUM_FLAGS, f"--user-agent={user_agent}"]
            )
            launched.append(browser)
            return browser

        yield launch
        for browser in launched:
            if browser.is_connected():
                browser.close()


def posted(event_type: str, path: str):
    """The answer to the batch that carries this event of this page (``/track/*``: any tracking
    page)."""
    sent_path = f'"path":"{path.removesuffix("*")}' + ("" if path.endswith("*") else '"')

    def matches(response) -> bool:
        body = response.request.post_data or ""
        return response.url.endswith(EVENTS) and f'"type":"{event_type}"' in body and sent_path in body

    return matches


class Visitor:
    """One person: their own browser, one tab."""

    count = 0

    def __init__(self, chromium, base: str, *, phone: bool = False, **context_options):
        Visitor.count += 1
        self.base = base
        agent = (PHONE_UA if phone else DESKTOP_UA).format(n=Visitor.count)
        self.browser = chromium(agent)
        options = {"viewport": PHONE if phone else DESKTOP, "user_agent": agent, **context_options}
        if phone:
            options.update(is_mobile=True, has_touch=True)
        self.context = self.browser.new_context(**options)
        self.page = self.context.new_page()
        self.errors: list = []
        self.page.on("pageerror", lambda error: self.errors.append(error))

    def open(self, path: str) -> None:
        """A typed URL or bookmark, once its page view has been answered (see the module doc)."""
        with self.page.expect_response(posted("pageview", path)):
            self.page.goto(self.base + path)

    def navigated(self, action, path: str) -> None:
        """Any navigation (link, back, forward, reload) to ``path``, once the new page's page view
        has been answered (not the left page's beacon: the script's next step could otherwise
        leave the new page before its tracker has run)."""
        with self.page.expect_response(posted("pageview", path)):
            action()

    def consent(self, allow: bool) -> None:
        self.page.wait_for_selector("#rt-consent:not([hidden])")
        self.page.click(f"#rt-consent [data-consent='{1 if allow else 0}']")
        self.page.wait_for_selector("#rt-consent", state="hidden")

    def service_worker_ready(self) -> None:
        self.page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    def book(self) -> None:
        page = self.page
        page.fill("[name=name]", f"Visitor {Visitor.count}")
        page.fill("[name=email]", f"visitor{Visitor.count}@example.com")
        page.select_option("[name=kind]", "phone")
        page.fill("[name=brand]", "Fairphone")
        page.fill("[name=model]", "5")
        page.fill("[name=condition_on_intake]", "Scratched")
        page.fill("[name=problem_description]", "The screen is cracked across the top.")
        self.navigated(lambda: page.click("button[type=submit]"), "/track/*")
        page.wait_for_url(f"{self.base}/track/**")

    def leave(self, truth: Truth | None = None) -> None:
        """Tab closed, then the browser quit normally once the tab's last beacon was stored (as a
        visitor's browser goes on running after a tab is closed: quitting Chromium at once would
        cancel the beacon still on its way, which is the killed browser's case, not this one)."""
        with self.page.expect_event("close"):
            self.page.close(run_before_unload=True)
        if truth is not None:
            _stored(truth.pageviews, truth.pageviews)  # every page so far was left: one leave each
        self.context.close()
        self.browser.close()
        assert self.errors == []


def _stored(pageviews: int, page_leaves: int, timeout: float = 20.0) -> None:
    """Flush (the flush service) until the expected page views and leave events are stored: the
    leave beacons of closing tabs may still be on their way when the script ends."""
    _database()
    deadline = time.monotonic() + timeout
    while True:
        buffer.flush_events()
        stored = Counter(Event.objects.values_list("type", flat=True))
        if stored[EventType.PAGEVIEW] >= pageviews and stored[EventType.PAGE_LEAVE] >= page_leaves:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)


def test_the_dashboard_reports_exactly_what_the_visitors_did(live_asgi_url, chromium):
    first_day = timezone.now().date()
    truth = Truth()
    base = live_asgi_url

    # 1. Typed URLs and bookmarks (direct navigation), desktop.
    v = Visitor(chromium, base)
    v.open("/")
    v.service_worker_ready()
    v.open("/book/")
    v.open("/")
    truth.visit("/", "/book/", "/")
    v.leave(truth)

    # 2. Link clicks on a phone: the home page's button, then the navigation.
    v = Visitor(chromium, base, phone=True)
    v.open("/")
    v.service_worker_ready()
    v.navigated(lambda: v.page.click(".hero a.button"), "/book/")
    v.navigated(lambda: v.page.click(".site-nav a[href='/book/']"), "/book/")
    truth.visit("/", "/book/", "/book/")
    v.leave(truth)

    # 3. Back and forward.
    v = Visitor(chromium, base)
    v.open("/")
    v.service_worker_ready()
    v.open("/book/")
    v.navigated(v.page.go_back, "/")
    v.navigated(v.page.go_forward, "/book/")
    truth.visit("/", "/book/", "/", "/book/")
    v.leave(truth)

    # 4. Reload.
    v = Visitor(chromium, base, phone=True)
    v.open("/")
    v.navigated(v.page.reload, "/")
    truth.visit("/", "/")
    v.leave(truth)

    # 5. A single page, tab closed at once: a bounce.
    v = Visitor(chromium, base)
    v.open("/")
    truth.visit("/")
    v.leave(truth)

    # 6. Consent given on the first page (mid-visit), then a booking: one visit, one visitor.
    v = Visitor(chromium, base)
    v.open("/")
    v.consent(allow=True)
    v.service_worker_ready()
    v.navigated(lambda: v.page.click(".hero a.button"), "/book/")
    v.book()
    truth.visit("/", "/book/", "/track/{token}/", funnel=("form_started", "booking_completed"))
    v.leave(truth)

    # 7. Consent refused, on a phone.
    v = Visitor(chromium, base, phone=True)
    v.open("/")
    v.consent(allow=False)
    v.open("/book/")
    truth.visit("/", "/book/")
    v.leave(truth)

    # 8. Offline then online, with consent: books, loses the network, reloads the tracking page
    # (from the service worker's cache), comes back online: the waiting events are sent then.
    v = Visitor(chromium, base)
    v.open("/")
    v.consent(allow=True)
    v.service_worker_ready()
    v.open("/book/")
    v.book()
    v.page.wait_for_function(
        "() => caches.open('tracking-pages-v1').then((c) => c.match(location.href)).then(Boolean)"
    )
    v.context.set_offline(True)
    v.page.reload()
    v.page.wait_for_selector("#ticket")
    v.navigated(lambda: v.context.set_offline(False), "/track/*")
    truth.visit(
        "/", "/book/", "/track/{token}/", "/track/{token}/", funnel=("form_started", "booking_completed")
    )
    v.leave(truth)

    # 9. Do Not Track, and 10. Global Privacy Control: never counted.
    for header, setting in (("DNT", "doNotTrack"), ("Sec-GPC", "globalPrivacyControl")):
        v = Visitor(chromium, base, extra_http_headers={header: "1"})
        value = "'1'" if setting == "doNotTrack" else "true"
        v.context.add_init_script(
            f"Object.defineProperty(Navigator.prototype, '{setting}', {{get: () => {value}}})"
        )
        v.page.goto(base + "/")
        v.page.goto(base + "/book/")
        v.leave()

    # 11. A killed browser (lossy by nature): its page views were answered before the kill.
    v = Visitor(chromium, base, phone=True)
    v.open("/")
    v.open("/book/")
    truth.visit("/", "/book/")
    # Everything sent so far is stored (the leave beacon of "/" included) before the kill.
    _stored(truth.pageviews, truth.pageviews - 1)
    crash = v.browser.new_browser_cdp_session()
    with contextlib.suppress(Exception):  # the connection dies with the browser
        crash.send("Browser.crash")  # no pagehide: the last page's leave event is lost

    # A booking at the counter: a conversion with no tracked visit behind it.
    run_outside_playwrights_loop(make_ticket)
    truth.counter_bookings += 1

    # Every page left (link, typed URL, back/forward, reload, closing the tab, offline) sent its
    # leave event by beacon; only the killed browser's last page did not (the documented loss).
    pages_left = truth.pageviews - 1
    _stored(truth.pageviews, pages_left)
    last_day = timezone.now().date()

    client = Client()
    sign_in(client, StaffFactory())
    params = {"range": "custom", "from": first_day.isoformat(), "to": last_day.isoformat()}
    response = client.get("/api/v1/analytics/dashboard/", params)
    assert response.status_code == 200, response.content
    data = response.json()
    stored = sorted(Session.objects.values_list("entry_path", "pageviews"))
    traffic = data["traffic"]
    assert traffic["pageviews"] == truth.pageviews, stored
    assert traffic["sessions"] == truth.visitors, stored
    assert traffic["visitors"] == truth.visitors
    assert traffic["bounces"] == truth.bounces, stored
    top = {p["path"]: p["pageviews"] for p in data["top_pages"]}
    assert top == dict(truth.pages)
    leaves = Event.objects.filter(type=EventType.PAGE_LEAVE).count()
    assert leaves == pages_left, (leaves, pages_left)

    steps = {s["name"]: s["count"] for s in data["funnel"]}
    assert steps["quote_approved"] == steps["paid"] == 0
    assert {name: steps[name] for name in truth.funnel} == dict(truth.funnel), steps
    outside = {o["name"]: (o["people"], o["without_tracked_visit"]) for o in data["funnel_outside"]}
    assert outside["booking_completed"] == (truth.counter_bookings, truth.counter_bookings)
    for previous, step in zip(data["funnel"], data["funnel"][1:], strict=False):
        assert step["count"] <= previous["count"] and (step["rate_from_previous"] or 0) <= 1
    conversions = data["conversions"]
    assert conversions["bookings"] == truth.funnel["booking_completed"] + truth.counter_bookings
    assert conversions["converted_sessions"] == truth.funnel["booking_completed"]

    # The funnels API says the same (one query path).
    api = client.get("/api/v1/analytics/funnels/", {"from": params["from"], "to": params["to"]}).json()
    assert [s["entered"] for s in api["steps"]] == [s["count"] for s in data["funnel"]]

    # Web vitals of the visited pages reach the panel.
    vitals = {row["path"]: row for row in data["vitals"]}
    assert vitals["/"]["samples"] > 0 and vitals["/"]["lcp_p75_ms"] is not None
