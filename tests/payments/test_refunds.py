"""Refunds by staff, full and partial, through the provider's API."""

import json

import pytest
from django.core.exceptions import ValidationError

from payments import services
from payments.lifecycle import InvoiceStatus, PaymentStatus
from payments.models import Invoice, RefundStatus
from repairs.models import EventKind
from tests.fakes.stripe import sign
from tests.payments.factories import issued_invoice


@pytest.fixture
def stripe_payment(stripe_fake, ready):
    payment = services.start_stripe_payment(issued_invoice(ready))
    stripe_fake.customer_pays(payment.provider_payment_id)
    return services.sync_stripe_payment(payment)


@pytest.fixture
def paypal_payment(paypal_fake, ready):
    payment = services.start_paypal_payment(
        issued_invoice(ready), return_url="http://t/r", cancel_url="http://t/c"
    )
    paypal_fake.approve(payment.provider_payment_id)
    return services.capture_paypal_payment(payment)


def test_partial_then_full_stripe_refund(stripe_fake, stripe_payment, staff_user):
    first = services.refund_payment(
        stripe_payment, amount=2000, reason="Screen protector not fitted", by=staff_user
    )
    assert first.status == RefundStatus.SUCCEEDED and first.provider_refund_id in stripe_fake.refunds
    remote = stripe_fake.refunds[first.provider_refund_id]
    assert remote["amount"] == 2000 and remote["metadata"]["payment"] == stripe_payment.public_id
    (request,) = stripe_fake.requests_to("POST", "/v1/refunds")
    assert request.headers["Idempotency-Key"] == first.idempotency_key
    stripe_payment.refresh_from_db()
    assert (stripe_payment.status, stripe_payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    event = stripe_payment.invoice.ticket.events.order_by("-seq").first()
    assert event.kind == EventKind.PAYMENT_REFUNDED
    assert (event.payload["amount"], event.payload["reason"]) == (2000, "Screen protector not fitted")
    assert event.actor == staff_user

    services.refund_payment(stripe_payment, amount=6900, by=staff_user)
    stripe_payment.refresh_from_db()
    assert (stripe_payment.status, stripe_payment.amount_refunded) == (PaymentStatus.REFUNDED, 8900)
    assert Invoice.objects.get(pk=stripe_payment.invoice_id).status == InvoiceStatus.REFUNDED
    assert stripe_fake.charge_of(stripe_payment.provider_payment_id)["amount_refunded"] == 8900


def test_the_webhook_about_our_own_refund_changes_nothing(client, stripe_fake, stripe_payment):
    services.refund_payment(stripe_payment, amount=2000)
    charge = stripe_fake.charge_of(stripe_payment.provider_payment_id)
    body = json.dumps(stripe_fake.event("charge.refunded", charge)).encode()
    response = client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )
    assert response.json()["detail"] == "no change: refund already recorded"
    stripe_payment.refresh_from_db()
    assert stripe_payment.amount_refunded == 2000 and stripe_payment.refunds.count() == 1
    assert stripe_payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_REFUNDED).count() == 1


def test_more_than_is_left_is_refused_before_calling_stripe(stripe_fake, stripe_payment):
    with pytest.raises(ValidationError, match="At most 8900 minor units"):
        services.refund_payment(stripe_payment, amount=8901)
    with pytest.raises(ValidationError, match="whole, positive amount"):
        services.refund_payment(stripe_payment, amount=0)
    assert stripe_fake.requests_to("POST", "/v1/refunds") == []


def test_a_refund_stripe_refuses_is_recorded_as_failed(stripe_fake, stripe_payment):
    stripe_fake.refund_in_dashboard(stripe_payment.provider_payment_id, 8900)  # someone was quicker
    with pytest.raises(ValidationError, match="The refund did not go through: Stripe refused the request"):
        services.refund_payment(stripe_payment, amount=1000)
    stripe_payment.refresh_from_db()
    assert stripe_payment.amount_refunded == 0
    assert list(stripe_payment.refunds.values_list("status", "amount")) == [(RefundStatus.FAILED, 1000)]
    assert not stripe_payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_REFUNDED).exists()


def test_unpaid_payments_cannot_be_refunded(stripe_fake, ready):
    payment = services.start_stripe_payment(issued_invoice(ready))
    with pytest.raises(ValidationError, match="created payment cannot be refunded"):
        services.refund_payment(payment, amount=100)


def test_paypal_refund_through_the_capture(paypal_fake, paypal_payment):
    refund = services.refund_payment(paypal_payment, amount=1250, reason="Goodwill")
    remote = paypal_fake.refunds[refund.provider_refund_id]
    assert remote["amount"] == {"currency_code": "GBP", "value": "12.50"}
    assert remote["note_to_payer"] == "Goodwill"
    (request,) = paypal_fake.requests_to(
        "POST", f"/v2/payments/captures/{paypal_payment.provider_charge_id}/refund"
    )
    assert request.headers["PayPal-Request-Id"] == refund.idempotency_key
    paypal_payment.refresh_from_db()
    assert (paypal_payment.status, paypal_payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 1250)


def test_a_counter_payment_is_refunded_at_the_counter(ready):
    payment = services.record_counter_payment(issued_invoice(ready))
    refund = services.refund_payment(payment, amount=8900, reason="Cash back")
    payment.refresh_from_db()
    assert refund.provider_refund_id is None and payment.status == PaymentStatus.REFUNDED


def test_a_payment_under_review_can_be_refunded_in_full(stripe_fake, ready):
    invoice = issued_invoice(ready)
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id)
    services.record_counter_payment(invoice)  # the customer also paid at the shop
    payment = services.sync_stripe_payment(payment)
    assert payment.status == PaymentStatus.NEEDS_REVIEW
    services.refund_payment(payment, amount=8900, reason="Paid twice")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID  # still paid at the counter
