"""/webhooks/paypal/: verified with PayPal's verify-webhook-signature API over the raw body."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from payments import services
from payments.lifecycle import InvoiceStatus, PaymentStatus
from payments.models import EventStatus, Invoice, ProviderEvent
from repairs.models import EventKind
from tests.payments.factories import issued_invoice

pytestmark = pytest.mark.django_db

URL = "/webhooks/paypal/"


def deliver(client, body, headers):
    extra = {f"HTTP_{name.replace('-', '_')}": value for name, value in headers.items()}
    return client.post(URL, data=body, content_type="application/json", **extra)


@pytest.fixture
def captured(paypal_fake, ready):
    """A PayPal order approved by the buyer and captured at PayPal, before we heard of the capture."""
    invoice = issued_invoice(ready)
    payment = services.start_paypal_payment(invoice, return_url="http://t/r", cancel_url="http://t/c")
    paypal_fake.approve(payment.provider_payment_id)
    order = paypal_fake._capture(payment.provider_payment_id)
    capture = order["purchase_units"][0]["payments"]["captures"][0]
    return payment, paypal_fake.captures[capture["id"]]


def test_a_verified_capture_completed_pays_the_invoice(client, paypal_fake, captured):
    payment, capture = captured
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
    response = deliver(client, body, headers)
    assert response.status_code == 200 and response.json()["status"] == "processed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.provider_charge_id == capture["id"]
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.PAID
    (verify,) = paypal_fake.requests_to("POST", "/v1/notifications/verify-webhook-signature")
    assert verify.body["webhook_id"] == paypal_fake.webhook_id
    assert verify.body["webhook_event"] == json.loads(body)
    assert verify.headers["Authorization"].startswith("Bearer ")


def test_the_raw_body_is_checked_byte_for_byte(client, paypal_fake, captured):
    """PayPal signs the exact bytes it sends; our re-serialised JSON would not verify."""
    payment, capture = captured
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
    pretty = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert deliver(client, pretty, paypal_fake.sign(pretty)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, headers: (body.replace(b"89.00", b"1.00"), headers), id="body-changed"),
        pytest.param(
            lambda body, headers: (body, {**headers, "PAYPAL-TRANSMISSION-ID": "another-id"}),
            id="other-transmission",
        ),
        pytest.param(
            lambda body, headers: (body, {**headers, "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk"}),
            id="made-up-signature",
        ),
        pytest.param(
            lambda body, headers: (body, {**headers, "PAYPAL-CERT-URL": "https://evil.example/cert.pem"}),
            id="attacker-certificate",
        ),
    ],
)
def test_a_forged_delivery_is_refused_and_changes_nothing(client, paypal_fake, captured, tamper):
    payment, capture = captured
    body, headers = tamper(*paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture))
    response = deliver(client, body, headers)
    assert response.status_code == 400 and "not valid" in response.json()["detail"]
    assert ProviderEvent.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED


def test_a_delivery_for_another_webhook_is_refused(client, paypal_fake, captured):
    _, capture = captured
    body, headers = paypal_fake.webhook(
        "PAYMENT.CAPTURE.COMPLETED", capture, webhook_id="SOMEONEELSESWEBHOOK"
    )
    assert deliver(client, body, headers).status_code == 400


def test_a_stale_transmission_is_refused_before_asking_paypal(client, paypal_fake, captured, settings):
    _, capture = captured
    old = datetime.now(UTC) - timedelta(seconds=settings.PAYPAL_WEBHOOK_TOLERANCE_SECONDS + 60)
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture, transmission_time=old)
    response = deliver(client, body, headers)
    assert response.status_code == 400 and "PAYPAL-TRANSMISSION-TIME" in response.json()["detail"]
    assert paypal_fake.requests_to("POST", "/v1/notifications/verify-webhook-signature") == []


def test_missing_headers_are_named(client, paypal_fake, captured):
    _, capture = captured
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
    del headers["PAYPAL-TRANSMISSION-SIG"]
    response = deliver(client, body, headers)
    assert response.status_code == 400
    assert response.json()["detail"] == "The PAYPAL-TRANSMISSION-SIG header is missing."


def test_when_paypal_cannot_verify_the_provider_is_asked_to_retry(client, paypal_fake, captured):
    _, capture = captured
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
    paypal_fake.fail_next("POST", "/v1/notifications/verify-webhook-signature", status=503, times=5)
    response = deliver(client, body, headers)
    assert response.status_code == 503
    assert ProviderEvent.objects.count() == 0


def test_a_duplicate_is_acknowledged_and_ignored(client, paypal_fake, captured):
    payment, capture = captured
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
    assert deliver(client, body, headers).status_code == 200
    redelivery = paypal_fake.sign(body)  # PayPal redelivers with a new transmission
    response = deliver(client, body, redelivery)
    assert response.status_code == 200 and response.json()["duplicate"] is True
    assert payment.invoice.ticket.events.filter(kind=EventKind.PAYMENT_RECEIVED).count() == 1


def test_a_denied_capture_fails_the_payment(client, paypal_fake, ready):
    payment = services.start_paypal_payment(
        issued_invoice(ready), return_url="http://t/r", cancel_url="http://t/c"
    )
    paypal_fake.approve(payment.provider_payment_id)
    paypal_fake.decline_next_capture("DECLINED")
    order = paypal_fake._capture(payment.provider_payment_id)
    capture = order["purchase_units"][0]["payments"]["captures"][0]
    deliver(client, *paypal_fake.webhook("PAYMENT.CAPTURE.DENIED", capture))
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "DECLINED_BY_RISK_FRAUD_FILTERS")


def test_a_refund_made_at_paypal_is_recorded(client, paypal_fake, captured):
    payment, capture = captured
    deliver(client, *paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture))
    refund = paypal_fake.refund_in_dashboard(capture["id"], 1500)
    response = deliver(client, *paypal_fake.webhook("PAYMENT.CAPTURE.REFUNDED", refund))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 1500)
    assert list(payment.refunds.values_list("provider_refund_id", "amount")) == [(refund["id"], 1500)]
    event = payment.invoice.ticket.events.order_by("-seq").first()
    assert (event.kind, event.payload["amount"]) == (EventKind.PAYMENT_REFUNDED, 1500)


def test_a_refund_before_its_capture_settles_then_refunds(client, paypal_fake, captured):
    """Out of order: PayPal's refund names only the capture, which we have not heard of yet."""
    payment, capture = captured
    refund = paypal_fake.refund_in_dashboard(capture["id"], 8900)
    assert deliver(client, *paypal_fake.webhook("PAYMENT.CAPTURE.REFUNDED", refund)).status_code == 200
    late = deliver(client, *paypal_fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture))
    assert late.status_code == 200 and late.json()["detail"].startswith("already")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert (payment.amount_received, payment.amount_refunded) == (8900, 8900)
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.REFUNDED
    kinds = list(payment.invoice.ticket.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.PAYMENT_RECEIVED) == kinds.count(EventKind.PAYMENT_REFUNDED) == 1


def test_a_processing_failure_answers_5xx_and_the_redelivery_succeeds(
    client, paypal_fake, captured, settings
):
    payment, capture = captured
    refund = paypal_fake.refund_in_dashboard(capture["id"], 1000)
    body, headers = paypal_fake.webhook("PAYMENT.CAPTURE.REFUNDED", refund)
    # Looking up the unknown capture fails at PayPal: nothing may be half-applied.
    paypal_fake.fail_next("GET", "/v2/payments/captures/", status=500, times=settings.PAYPAL_MAX_RETRIES + 1)
    response = deliver(client, body, headers)
    assert response.status_code == 500
    stored = ProviderEvent.objects.get()
    assert (stored.status, stored.attempts) == (EventStatus.FAILED, 1)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED and payment.refunds.count() == 0

    response = deliver(client, body, paypal_fake.sign(body))
    assert response.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == (EventStatus.PROCESSED, 2)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 1000)


def test_not_configured_asks_paypal_to_retry(client, settings):
    response = deliver(client, b"{}", {})
    assert response.status_code == 503 and "PayPal is not configured" in response.json()["detail"]
