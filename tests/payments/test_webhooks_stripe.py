"""/webhooks/stripe/: signed exactly as Stripe signs, stored once, applied in any order."""

import itertools
import json
import time

import pytest

from payments import services
from payments.lifecycle import InvoiceStatus, PaymentStatus
from payments.models import EventStatus, Invoice, Payment, ProviderEvent
from repairs.models import EventKind
from tests.fakes.stripe import sign
from tests.payments.factories import issued_invoice

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"


def deliver(client, event, *, secret=None, timestamp=None, header=None, body=None):
    body = body if body is not None else json.dumps(event).encode()
    if header is None:
        header = sign(body, timestamp=timestamp) if secret is None else sign(body, secret, timestamp)
    return client.post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def paid_intent(stripe_fake, ready):
    """An issued invoice, its payment's PaymentIntent paid by the customer (no webhook yet)."""
    invoice = issued_invoice(ready)
    payment = services.start_stripe_payment(invoice)
    intent = stripe_fake.customer_pays(payment.provider_payment_id)
    return payment, intent


def test_a_valid_success_event_pays_the_invoice(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    event = stripe_fake.event("payment_intent.succeeded", intent)
    response = deliver(client, event)
    assert response.status_code == 200 and response.json()["status"] == "processed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.PAID
    stored = ProviderEvent.objects.get(event_id=event["id"])
    assert (stored.status, stored.payment, stored.event_type) == (
        "processed",
        payment,
        "payment_intent.succeeded",
    )
    assert payment.history.last().source == f"webhook:stripe:{event['id']}"
    kinds = list(payment.invoice.ticket.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.PAYMENT_RECEIVED) == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: sign(body, "whsec_someone_else"), id="other-secret"),
        pytest.param(lambda body: sign(body + b" "), id="body-changed"),
        pytest.param(lambda body: "t=1,v1=" + "0" * 64, id="made-up"),
        pytest.param(lambda body: "", id="missing"),
        pytest.param(lambda body: "garbage", id="garbage"),
    ],
)
def test_a_forged_signature_is_refused_and_changes_nothing(client, stripe_fake, paid_intent, forge):
    payment, intent = paid_intent
    body = json.dumps(stripe_fake.event("payment_intent.succeeded", intent)).encode()
    response = deliver(client, None, body=body, header=forge(body))
    assert response.status_code == 400
    assert "Stripe-Signature" in response.json()["detail"]
    assert ProviderEvent.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED


def test_a_stale_timestamp_is_refused(client, stripe_fake, paid_intent, settings):
    payment, intent = paid_intent
    event = stripe_fake.event("payment_intent.succeeded", intent)
    stale = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS - 10
    response = deliver(client, event, timestamp=stale)
    assert response.status_code == 400 and "tolerance" in response.json()["detail"]
    assert ProviderEvent.objects.count() == 0
    fresh = deliver(client, event)
    assert fresh.status_code == 200


def test_a_signed_body_that_is_not_an_event_is_refused(client, stripe_fake):
    response = deliver(client, None, body=b'{"hello": "world"}')
    assert response.status_code == 400 and "not a Stripe event" in response.json()["detail"]


def test_a_duplicate_is_acknowledged_and_ignored(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    event = stripe_fake.event("payment_intent.succeeded", intent)
    assert deliver(client, event).status_code == 200
    again = deliver(client, event)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert ProviderEvent.objects.filter(event_id=event["id"]).count() == 1
    assert payment.history.filter(to_status=PaymentStatus.SUCCEEDED).count() == 1
    assert payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_RECEIVED).count() == 1


def test_a_late_failure_never_moves_a_paid_payment_back(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    failed_view = {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined"},
    }
    failed = stripe_fake.event("payment_intent.payment_failed", failed_view)
    succeeded = stripe_fake.event("payment_intent.succeeded", intent)
    assert deliver(client, succeeded).status_code == 200
    response = deliver(client, failed)
    assert response.status_code == 200 and response.json()["detail"].startswith("ignored")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert not payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_FAILED).exists()


def _events_for_partial_refund(stripe_fake, intent):
    succeeded = stripe_fake.event("payment_intent.succeeded", intent)
    charge = stripe_fake.refund_in_dashboard(intent["id"], 2000)
    refunded = stripe_fake.event("charge.refunded", charge)
    return [succeeded, refunded]


@pytest.mark.parametrize("order", list(itertools.permutations(range(2))))
def test_success_and_refund_end_the_same_in_either_order(client, stripe_fake, paid_intent, order):
    payment, intent = paid_intent
    events = _events_for_partial_refund(stripe_fake, intent)
    for index in order:
        assert deliver(client, events[index]).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert (payment.amount_received, payment.amount_refunded) == (8900, 2000)
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.PAID
    assert list(payment.refunds.values_list("amount", "status")) == [(2000, "succeeded")]
    timeline = list(payment.invoice.ticket.events.values_list("kind", flat=True))
    assert timeline.count(EventKind.PAYMENT_RECEIVED) == timeline.count(EventKind.PAYMENT_REFUNDED) == 1


def test_an_older_refund_total_does_not_lower_a_newer_one(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    deliver(client, stripe_fake.event("payment_intent.succeeded", intent))
    first = stripe_fake.event("charge.refunded", stripe_fake.refund_in_dashboard(intent["id"], 1000))
    second = stripe_fake.event("charge.refunded", stripe_fake.refund_in_dashboard(intent["id"], 7900))
    deliver(client, second)
    deliver(client, first)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.amount_refunded == 8900
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.REFUNDED


def test_an_amount_that_does_not_match_is_put_under_review(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    tampered = {**intent, "amount_received": 100}
    response = deliver(client, stripe_fake.event("payment_intent.succeeded", tampered))
    assert response.status_code == 200 and "needs review" in response.json()["detail"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_REVIEW
    assert "received 100 minor units, invoice total is 8900" in payment.review_reason
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.ISSUED
    assert not payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_RECEIVED).exists()
    # The correct event arriving afterwards does not quietly clear the review.
    deliver(client, stripe_fake.event("payment_intent.succeeded", intent))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_REVIEW


def test_a_currency_that_does_not_match_is_put_under_review(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    deliver(client, stripe_fake.event("payment_intent.succeeded", {**intent, "currency": "usd"}))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_REVIEW and "currency USD" in payment.review_reason


def test_a_second_payment_of_a_paid_invoice_is_put_under_review(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    services.record_counter_payment(payment.invoice)
    deliver(client, stripe_fake.event("payment_intent.succeeded", intent))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_REVIEW and "already paid" in payment.review_reason


def test_a_dispute_is_recorded(client, stripe_fake, paid_intent):
    payment, intent = paid_intent
    deliver(client, stripe_fake.event("payment_intent.succeeded", intent))
    dispute = stripe_fake.open_dispute(intent["latest_charge"])
    response = deliver(client, stripe_fake.event("charge.dispute.created", dispute))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.DISPUTED
    assert payment.history.last().note.startswith(f"Dispute {dispute['id']}: fraudulent")


def test_a_failure_event_fails_the_payment(client, stripe_fake, ready):
    payment = services.start_stripe_payment(issued_invoice(ready))
    intent = stripe_fake.customer_pays(payment.provider_payment_id, outcome="card_declined")
    deliver(client, stripe_fake.event("payment_intent.payment_failed", intent))
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "generic_decline")
    assert payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_FAILED).count() == 1


def test_events_we_do_not_use_or_cannot_match_are_stored_and_acknowledged(client, stripe_fake):
    unknown_type = stripe_fake.event("customer.created", {"id": "cus_1", "object": "customer"})
    other_intent = stripe_fake.add_payment_intent(amount=500)
    unknown_payment = stripe_fake.event("payment_intent.succeeded", other_intent)
    for event in (unknown_type, unknown_payment):
        assert deliver(client, event).status_code == 200
    assert dict(ProviderEvent.objects.values_list("event_type", "status")) == {
        "customer.created": EventStatus.IGNORED,
        "payment_intent.succeeded": EventStatus.IGNORED,
    }
    assert Payment.objects.count() == 0


def test_without_a_webhook_secret_the_endpoint_asks_stripe_to_retry(client, stripe_fake, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = deliver(client, stripe_fake.event("payment_intent.succeeded", {"id": "pi_x"}))
    assert response.status_code == 503 and "STRIPE_WEBHOOK_SECRET" in response.json()["detail"]
    assert ProviderEvent.objects.count() == 0


def test_only_post_is_accepted(client, stripe_fake):
    assert client.get(URL).status_code == 405


def test_a_timestamp_far_in_the_future_is_refused(client, stripe_fake, paid_intent, settings):
    """A signature dated ahead could be replayed for as long as it stays "fresh": the tolerance
    applies both ways."""
    payment, intent = paid_intent
    event = stripe_fake.event("payment_intent.succeeded", intent)
    ahead = int(time.time()) + settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS + 3600
    response = deliver(client, event, timestamp=ahead)
    assert response.status_code == 400 and "future" in response.json()["detail"]
    assert ProviderEvent.objects.count() == 0
    slightly_ahead = deliver(client, event, timestamp=int(time.time()) + 30)  # clock skew is fine
    assert slightly_ahead.status_code == 200
