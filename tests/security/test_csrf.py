"""CSRF on every form: each ``<form method=post>`` the site renders (as anonymous visitor, customer
and staff, admin included) carries the token, and a POST to its action without the token is refused
with 403. The csrf_exempt endpoints are the signed ones (provider webhooks, one-click unsubscribe,
CSP reports, tracker beacons) and are listed here so a new exemption is a deliberate change."""

from __future__ import annotations

import contextlib
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, resolve, reverse

from tests.fakes import paypal as paypal_fake
from tests.fakes import stripe as stripe_fake
from tests.security.conftest import customer_pages, public_pages, staff_pages

pytestmark = pytest.mark.django_db

#: Views that take POSTs without a CSRF token, on purpose (each authenticates the sender otherwise).
CSRF_EXEMPT_BY_DESIGN = {
    "stripe-webhook": "Stripe-Signature header verified with STRIPE_WEBHOOK_SECRET",
    "paypal-webhook": "verified with PayPal's verify-webhook-signature API",
    "notifications-sendgrid-webhook": "SendGrid signed event webhook",
    "notifications-twilio-status": "X-Twilio-Signature verified",
    "notifications-ses-webhook": "SNS message signature verified",
    "notifications-unsubscribe": "RFC 8058 one-click unsubscribe: the signed token is the credential",
    "csp-report": "browsers send reports without cookies; only logs",
}


def _admin_pages(ticket) -> list[str]:
    pages = set(staff_pages(ticket))
    for model in admin.site._registry:
        opts = model._meta
        for view in ("changelist", "add"):
            with contextlib.suppress(NoReverseMatch):
                pages.add(reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.add(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
    return sorted(pages)


def _post_forms(client: Client, url: str) -> list[tuple[str, BeautifulSoup]]:
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return []
    soup = BeautifulSoup(response.content, "html.parser")
    found = []
    for form in soup.find_all("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        action = urljoin("http://testserver" + url, form.get("action") or url)
        found.append((urlsplit(action).path, form))
    return found


@pytest.fixture
def payment_keys(settings):
    settings.STRIPE_SECRET_KEY = stripe_fake.SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = stripe_fake.PUBLISHABLE_KEY
    settings.PAYPAL_CLIENT_ID = paypal_fake.CLIENT_ID
    settings.PAYPAL_CLIENT_SECRET = paypal_fake.CLIENT_SECRET


def test_every_post_form_has_the_token_and_is_refused_without_it(
    due_invoice, customer, django_user_model, payment_keys
):
    ticket = due_invoice.ticket
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used")
    roles = [
        (None, public_pages(ticket)),
        (customer.user, customer_pages() + public_pages(ticket)),
        (superuser, _admin_pages(ticket)),
    ]
    forms_seen, refused = 0, set()
    for user, pages in roles:
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        for url in pages:
            for action, form in _post_forms(client, url):
                token = form.find("input", attrs={"name": "csrfmiddlewaretoken"})
                assert token is not None and token.get("value"), f"form posting to {action} on {url}"
                forms_seen += 1
                if (user, action) in refused:
                    continue
                route = resolve(action).url_name
                answer = client.post(action, {"probe": "1"})
                if route in CSRF_EXEMPT_BY_DESIGN:
                    continue
                assert answer.status_code == 403, (url, action, answer.status_code)
                refused.add((user, action))
    assert forms_seen >= 10, forms_seen
    actions = {action for _user, action in refused}
    assert reverse("book") in actions and reverse("logout") in actions and "/admin/login/" in actions
    assert reverse("payments:paypal-start", args=[ticket.tracking_token]) in actions
    assert reverse("payments:stripe-intent", args=[ticket.tracking_token]) in actions


def test_the_exempt_views_are_exactly_the_documented_ones():
    """Every csrf_exempt Django view in the URLconf is in CSRF_EXEMPT_BY_DESIGN (DRF API views are
    exempt from Django's check but apply CSRF themselves to session-authenticated requests)."""
    from django.urls import get_resolver

    exempt = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix)
                continue
            callback = pattern.callback
            if getattr(callback, "csrf_exempt", False) and not hasattr(callback, "cls"):
                exempt.add(pattern.name)

    walk(get_resolver().url_patterns)
    exempt.discard(None)
    assert exempt <= set(CSRF_EXEMPT_BY_DESIGN), exempt - set(CSRF_EXEMPT_BY_DESIGN)


def test_session_authenticated_api_writes_need_the_token(customer, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)
    response = client.post(
        f"/api/v1/repairs/{ticket.reference}/quote-decision/",
        {"decision": "approve"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
