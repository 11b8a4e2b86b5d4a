"""The strict Content-Security-Policy in real Chromium: the main pages, the pay page (with Stripe.js
allowed from js.stripe.com), the admin (login, index, a ticket's change form) and the API docs load
with zero CSP violations, and their scripts still work."""

from __future__ import annotations

import pytest

from tests.factories import DEFAULT_PASSWORD, CustomerWithLoginFactory, TechnicianFactory
from tests.fakes import paypal as paypal_fake
from tests.fakes import stripe as stripe_fake
from tests.payments.factories import issued_invoice, ready_ticket

pytestmark = pytest.mark.browser

#: Records every violation the page sees (injected by Playwright through CDP, outside the CSP).
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
#: Stands in for Stripe.js (this machine has no Internet): proves the CSP lets js.stripe.com run.
FAKE_STRIPE_JS = "window.__stripeJsRan = true;"


@pytest.fixture
def shop(live_asgi_url, settings, django_user_model):
    """Made before the browser starts: a customer's repair with an invoice due, Stripe and PayPal
    configured (so the pay page asks for Stripe.js), a superuser for the admin."""
    settings.STRIPE_SECRET_KEY = stripe_fake.SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = stripe_fake.PUBLISHABLE_KEY
    settings.PAYPAL_CLIENT_ID = paypal_fake.CLIENT_ID
    settings.PAYPAL_CLIENT_SECRET = paypal_fake.CLIENT_SECRET
    customer = CustomerWithLoginFactory()
    invoice = issued_invoice(ready_ticket(customer=customer, technician=TechnicianFactory()))
    admin = django_user_model.objects.create_superuser("csp-admin", "csp-admin@example.com", DEFAULT_PASSWORD)
    return {"customer": customer, "invoice": invoice, "ticket": invoice.ticket, "admin": admin}


class Watcher:
    def __init__(self, context):
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        recorded = self.page.evaluate("window.__cspViolations || []")
        return [*recorded, *self.console]

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status < 500, url
        assert "default-src 'self'" in (response.headers.get("content-security-policy") or ""), url
        self.page.wait_for_load_state("networkidle")


def _context(browser, stripe_requests: list[str] | None = None):
    context = browser.new_context()
    context.add_init_script(LISTEN_FOR_VIOLATIONS)

    def fake_stripe(route):
        if stripe_requests is not None:
            stripe_requests.append(route.request.url)
        route.fulfill(status=200, content_type="application/javascript", body=FAKE_STRIPE_JS)

    context.route("https://js.stripe.com/**", fake_stripe)
    return context


def test_public_pages_and_the_pay_page_have_no_csp_violations(live_asgi_url, shop, browser):
    stripe_requests: list[str] = []
    watcher = Watcher(_context(browser, stripe_requests))
    ticket = shop["ticket"]
    page = watcher.page

    for path in ("/", "/book/", "/account/login/", f"/track/{ticket.tracking_token}/", "/offline/"):
        watcher.visit(live_asgi_url + path)
        assert watcher.violations() == [], path

    # The tracking page's script ran and its WebSocket connected (connect-src allows ws://host).
    watcher.visit(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)

    # The pay page: Stripe.js from js.stripe.com is allowed and runs; pay.js runs after it.
    watcher.visit(f"{live_asgi_url}/track/{ticket.tracking_token}/pay/")
    assert stripe_requests == ["https://js.stripe.com/v3/"]
    assert page.evaluate("window.__stripeJsRan === true")
    page.wait_for_selector(
        "#stripe-form[data-state=unavailable]", timeout=5000
    )  # pay.js ran (fake has no Stripe())
    assert watcher.violations() == []

    # The booking form works end to end under the policy (form-action 'self', scripts from 'self').
    watcher.visit(f"{live_asgi_url}/book/")
    page.fill("#id_name", "Ada Lovelace")
    page.fill("#id_email", "ada@example.com")
    page.select_option("#id_kind", "laptop")
    page.fill("#id_brand", "Apple")
    page.fill("#id_model", "MacBook Air")
    page.fill("#id_condition_on_intake", "Scratched lid")
    page.fill("#id_problem_description", "The keyboard stopped working after a coffee spill.")
    page.click("form[method=post] [type=submit]")
    page.wait_for_url("**/track/**")
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)
    assert watcher.violations() == []
    assert watcher.errors == []


def test_the_admin_works_with_no_csp_violations(live_asgi_url, shop, browser):
    watcher = Watcher(_context(browser))
    page = watcher.page
    watcher.visit(f"{live_asgi_url}/admin/login/")
    page.fill("#id_username", shop["admin"].username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_asgi_url}/admin/")
    assert watcher.violations() == []

    ticket = shop["ticket"]
    for path in (
        "/admin/",
        "/admin/repairs/repairticket/",
        f"/admin/repairs/repairticket/{ticket.pk}/change/",
        f"/admin/repairs/customer/{ticket.customer.pk}/change/",
        "/admin/payments/invoice/",
        f"/admin/payments/invoice/{shop['invoice'].pk}/change/",
        "/admin/notifications/messagetemplate/add/",
    ):
        watcher.visit(live_asgi_url + path)
        assert watcher.violations() == [], path

    # The admin's own JavaScript runs: DateTimeShortcuts.js adds the "Today" / "Now" shortcuts to the
    # ticket page's date fields.
    watcher.visit(f"{live_asgi_url}/admin/repairs/repairticket/{ticket.pk}/change/")
    page.wait_for_selector("#ticket-promise .datetimeshortcuts a", timeout=5000)
    assert watcher.violations() == []
    assert watcher.errors == []


def test_the_api_docs_render_with_no_csp_violations(live_asgi_url, shop, browser):
    watcher = Watcher(_context(browser))
    page = watcher.page
    watcher.visit(f"{live_asgi_url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=10000)
    assert "RevivaTech API" in page.text_content(".swagger-ui .info .title")
    assert watcher.violations() == []

    watcher.visit(f"{live_asgi_url}/api/redoc/")
    page.wait_for_selector("redoc h1, .api-info h1", timeout=15000)
    assert watcher.violations() == []
    assert watcher.errors == []
