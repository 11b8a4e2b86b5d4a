"""The pay page in Debian's Chromium: Stripe.js cannot load here (no network), and the page must
say so clearly and keep the other ways to pay."""

from __future__ import annotations

import os

import pytest

from tests.browser_support import CHROMIUM
from tests.fakes import paypal as paypal_fake_module
from tests.fakes import stripe as stripe_fake_module
from tests.payments.factories import issued_invoice, ready_ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
        reason=f"{CHROMIUM} not installed (apt-get install chromium)",
    ),
]


@pytest.fixture
def due_invoice(live_asgi_url, settings):  # noqa: F811
    """Keys configured (Stripe.js will be asked for); made before the browser starts."""
    settings.STRIPE_SECRET_KEY = stripe_fake_module.SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = stripe_fake_module.PUBLISHABLE_KEY
    settings.PAYPAL_CLIENT_ID = paypal_fake_module.CLIENT_ID
    settings.PAYPAL_CLIENT_SECRET = paypal_fake_module.CLIENT_SECRET
    return issued_invoice(ready_ticket())


def test_without_stripe_js_the_pay_page_explains_and_offers_paypal(live_asgi_url, due_invoice, browser):  # noqa: F811
    page = browser.new_context().new_page()
    errors, stripe_requests = [], []
    page.on("pageerror", lambda error: errors.append(error))
    # This machine has no Internet; make the failure immediate and certain.
    page.route(
        "https://js.stripe.com/**", lambda route: (stripe_requests.append(route.request.url), route.abort())
    )

    page.goto(f"{live_asgi_url}/track/{due_invoice.ticket.tracking_token}/")
    page.click("#pay-now")
    page.wait_for_selector("#stripe-message:not([hidden])", timeout=5000)

    assert stripe_requests == ["https://js.stripe.com/v3/"]
    message = page.text_content("#stripe-message")
    assert "Card payment could not load" in message and "js.stripe.com" in message
    assert "pay with PayPal below" in message
    assert page.get_attribute("#stripe-form", "data-state") == "unavailable"
    assert page.is_disabled("#stripe-submit")
    assert page.is_hidden("#payment-element-loading")
    assert page.is_enabled("#paypal-submit")
    assert page.text_content("#invoice-total").strip() == "£89.00"
    assert errors == []
