"""Card payments: the real stripe SDK against the loopback fake."""

import pytest
from django.core.exceptions import ValidationError

from payments import services
from payments.lifecycle import InvoiceStatus, PaymentStatus
from repairs.models import EventKind
from tests.factories import make_ticket
from tests.payments.factories import deposit_invoice, issued_invoice


@pytest.fixture
def invoice(ready):
    return issued_invoice(ready)


def test_a_payment_intent_per_invoice_attempt(stripe_fake, invoice):
    payment = services.start_stripe_payment(invoice)
    intent = stripe_fake.payment_intents[payment.provider_payment_id]
    assert (intent["amount"], intent["currency"]) == (8900, "gbp")
    assert intent["metadata"] == {
        "payment": payment.public_id,
        "invoice": invoice.number,
        "ticket": invoice.ticket.reference,
    }
    assert payment.client_secret == intent["client_secret"]
    (request,) = stripe_fake.requests_to("POST", "/v1/payment_intents")
    assert request.headers["Idempotency-Key"] == payment.idempotency_key
    assert payment.status == PaymentStatus.CREATED


def test_reloading_the_pay_page_reuses_the_intent(stripe_fake, invoice):
    first = services.start_stripe_payment(invoice)
    second = services.start_stripe_payment(invoice)
    assert second.pk == first.pk and len(stripe_fake.payment_intents) == 1
    assert len(stripe_fake.requests_to("POST", "/v1/payment_intents")) == 1


def test_a_5xx_is_retried_with_the_same_idempotency_key(stripe_fake, invoice):
    stripe_fake.fail_next("POST", "/v1/payment_intents", status=500)
    payment = services.start_stripe_payment(invoice)
    attempts = stripe_fake.requests_to("POST", "/v1/payment_intents")
    assert len(attempts) == 2
    assert {r.headers["Idempotency-Key"] for r in attempts} == {payment.idempotency_key}
    assert (
        len(stripe_fake.payment_intents) == 1 and payment.provider_payment_id in stripe_fake.payment_intents
    )


def test_an_outage_is_explained_and_the_retry_creates_no_second_intent(stripe_fake, invoice):
    stripe_fake.fail_next("POST", "/v1/payment_intents", status=503, times=2)
    with pytest.raises(ValidationError, match="Stripe could not be reached"):
        services.start_stripe_payment(invoice)
    payment = services.start_stripe_payment(invoice)
    assert len(stripe_fake.payment_intents) == 1
    assert payment.attempt == 1 and invoice.payments.count() == 1


def test_success_marks_the_invoice_paid_and_tells_the_timeline(stripe_fake, invoice):
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id)
    payment = services.sync_stripe_payment(payment)
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_received == 8900
    assert payment.provider_charge_id.startswith("ch_")
    assert invoice.status == InvoiceStatus.PAID
    event = invoice.ticket.events.order_by("-seq").first()
    assert event.kind == EventKind.PAYMENT_RECEIVED
    assert event.payload | {"ticket": None} == {
        "invoice_id": invoice.number,
        "amount": 8900,
        "currency": "GBP",
        "provider": "stripe",
        "ticket": None,
    }
    with pytest.raises(ValidationError, match="already paid"):
        services.start_stripe_payment(invoice)


def test_a_declined_card_fails_and_the_same_intent_can_then_succeed(stripe_fake, invoice):
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id, outcome="insufficient_funds")
    payment = services.sync_stripe_payment(payment)
    assert payment.status == PaymentStatus.FAILED
    assert (payment.failure_code, payment.failure_message) == (
        "insufficient_funds",
        "Your card was declined.",
    )
    assert invoice.ticket.events.order_by("-seq").first().kind == EventKind.PAYMENT_FAILED

    again = services.start_stripe_payment(invoice)
    assert again.pk == payment.pk, "the customer retries on the same PaymentIntent"
    stripe_fake.customer_pays(payment.provider_payment_id)
    assert services.sync_stripe_payment(again).status == PaymentStatus.SUCCEEDED


def test_not_configured_means_pay_at_the_shop(invoice):
    with pytest.raises(ValidationError, match="Card payment is not set up"):
        services.start_stripe_payment(invoice)


def test_a_final_invoice_is_paid_online_only_when_the_device_is_ready(stripe_fake, ticket):
    from payments.models import Invoice

    invoice = Invoice.objects.get(pk=issued_invoice(ticket, lines=[_line(5000)]).pk)
    with pytest.raises(ValidationError, match="once your device is ready"):
        services.start_stripe_payment(invoice)
    deposit = deposit_invoice(make_ticket(), 1000)
    assert services.start_stripe_payment(deposit).client_secret


def _line(amount):
    return services.LineInput("labour", "Diagnosis", amount)
