"""The payments app's share of GDPR export and erasure: invoices stay for the accounts, nothing
identifying does."""

import json

import pytest

from payments import services
from payments.models import Invoice, ProviderEvent
from revivatech import privacy
from tests.fakes.stripe import sign
from tests.payments.factories import issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(client, stripe_fake, ready):
    """A card payment (with its webhook stored) and a partial refund."""
    invoice = issued_invoice(ready)
    payment = services.start_stripe_payment(invoice)
    intent = stripe_fake.customer_pays(payment.provider_payment_id)
    intent["receipt_email"] = ready.customer.email
    body = json.dumps(stripe_fake.event("payment_intent.succeeded", intent)).encode()
    client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )
    payment.refresh_from_db()
    services.refund_payment(payment, amount=900, reason=f"Sorry {ready.customer.name}")
    return invoice


def test_registered_before_repairs_erases_the_customer(history):
    sections = [provider.section for provider in privacy.providers()]
    assert sections.index("payments") < sections.index("repairs")


def test_export_lists_invoices_payments_and_refunds(history):
    customer = history.ticket.customer
    (provider,) = [p for p in privacy.providers() if p.section == "payments"]
    data = provider.export(customer)
    json.dumps(data, default=str)
    (invoice,) = data["invoices"]
    assert (invoice["number"], invoice["total"], invoice["billing_email"]) == (
        history.number,
        8900,
        customer.email,
    )
    (payment,) = invoice["payments"]
    assert (payment["provider"], payment["status"], payment["amount_refunded"]) == (
        "stripe",
        "partially_refunded",
        900,
    )
    assert payment["refunds"][0]["amount"] == 900


def test_erase_keeps_amounts_and_drops_what_identifies(history):
    customer = history.ticket.customer
    (provider,) = [p for p in privacy.providers() if p.section == "payments"]
    summary = provider.erase(customer)
    assert summary == {"invoices": 1, "provider_events": 1, "refund_reasons": 1}
    invoice = Invoice.objects.get(pk=history.pk)
    assert (invoice.billing_name, invoice.billing_email) == ("Erased customer", "")
    assert (invoice.total, invoice.number, invoice.status) == (8900, history.number, "paid")
    stored = json.dumps(list(ProviderEvent.objects.values_list("payload", flat=True)))
    assert customer.email not in stored and customer.name not in stored
    assert invoice.payments.get().amount_received == 8900
