"""Fixtures of the payments tests: the real SDKs pointed at loopback fakes of Stripe and PayPal."""

from __future__ import annotations

import pytest

from tests.fakes import paypal as paypal_fake_module
from tests.fakes import stripe as stripe_fake_module
from tests.fakes.paypal import FakePayPal
from tests.fakes.stripe import FakeStripe
from tests.payments.factories import ready_ticket


@pytest.fixture(autouse=True)
def _no_providers(settings):
    """Each test starts with no provider configured (as the embedded default)."""
    settings.STRIPE_SECRET_KEY = settings.STRIPE_PUBLISHABLE_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
    settings.PAYPAL_CLIENT_ID = settings.PAYPAL_CLIENT_SECRET = settings.PAYPAL_WEBHOOK_ID = ""
    settings.STRIPE_API_BASE = settings.PAYPAL_API_BASE = ""


@pytest.fixture
def stripe_fake(settings):
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = stripe_fake_module.SECRET_KEY
        settings.STRIPE_PUBLISHABLE_KEY = stripe_fake_module.PUBLISHABLE_KEY
        settings.STRIPE_WEBHOOK_SECRET = stripe_fake_module.WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_MAX_NETWORK_RETRIES = 1
        settings.STRIPE_TIMEOUT_SECONDS = 5
        yield fake


@pytest.fixture
def paypal_fake(settings):
    with FakePayPal() as fake:
        settings.PAYPAL_CLIENT_ID = paypal_fake_module.CLIENT_ID
        settings.PAYPAL_CLIENT_SECRET = paypal_fake_module.CLIENT_SECRET
        settings.PAYPAL_WEBHOOK_ID = paypal_fake_module.WEBHOOK_ID
        settings.PAYPAL_API_BASE = fake.url
        settings.PAYPAL_MAX_RETRIES = 1
        settings.PAYPAL_TIMEOUT_SECONDS = 5
        yield fake


@pytest.fixture
def ready(db, customer, technician):
    """``customer``'s ticket, quote £89.00 approved, ready for pickup."""
    return ready_ticket(customer=customer, technician=technician)
