"""PayPal Orders v2: the real paypal-server-sdk against the loopback fake."""

import pytest
from django.core.exceptions import ValidationError

from payments import services
from payments.lifecycle import InvoiceStatus, LineKind, PaymentStatus
from repairs.models import EventKind
from tests.payments.factories import deposit_invoice, issued_invoice

RETURN = "http://testserver/return"
CANCEL = "http://testserver/cancel"


@pytest.fixture
def invoice(ready):
    return issued_invoice(ready)


def _start(invoice):
    return services.start_paypal_payment(invoice, return_url=RETURN, cancel_url=CANCEL)


def test_an_order_with_a_decimal_amount_and_our_request_id(paypal_fake, invoice):
    payment = _start(invoice)
    order = paypal_fake.orders[payment.provider_payment_id]
    unit = order["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "GBP", "value": "89.00"}
    assert unit["custom_id"] == payment.public_id
    assert unit["invoice_id"] == f"{invoice.number}-1"
    assert (order["_return_url"], order["_cancel_url"]) == (RETURN, CANCEL)
    (request,) = paypal_fake.requests_to("POST", "/v2/checkout/orders")
    assert request.headers["PayPal-Request-Id"] == payment.idempotency_key
    assert (
        payment.approve_url
        == f"https://www.sandbox.paypal.com/checkoutnow?token={payment.provider_payment_id}"
    )


def test_japanese_yen_has_no_decimals_on_the_wire(paypal_fake, ready):
    invoice = issued_invoice(
        ready, currency="JPY", lines=[services.LineInput(LineKind.LABOUR, "Repair", 12000)]
    )
    payment = _start(invoice)
    amount = paypal_fake.orders[payment.provider_payment_id]["purchase_units"][0]["amount"]
    assert amount == {"currency_code": "JPY", "value": "12000"}


def test_a_5xx_is_retried_with_the_same_request_id(paypal_fake, invoice):
    paypal_fake.fail_next("POST", "/v2/checkout/orders", status=500)
    payment = _start(invoice)
    attempts = paypal_fake.requests_to("POST", "/v2/checkout/orders")
    assert [r.headers["PayPal-Request-Id"] for r in attempts] == [payment.idempotency_key] * 2
    assert list(paypal_fake.orders) == [payment.provider_payment_id]


def test_clicking_twice_reuses_the_unapproved_order(paypal_fake, invoice):
    assert _start(invoice).pk == _start(invoice).pk
    assert len(paypal_fake.orders) == 1


def test_approved_and_captured(paypal_fake, invoice):
    payment = _start(invoice)
    paypal_fake.approve(payment.provider_payment_id)
    payment = services.capture_paypal_payment(payment)
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_received == 8900
    assert payment.provider_charge_id in paypal_fake.captures
    assert invoice.status == InvoiceStatus.PAID
    (capture_request,) = paypal_fake.requests_to(
        "POST", f"/v2/checkout/orders/{payment.provider_payment_id}/capture"
    )
    assert capture_request.headers["PayPal-Request-Id"] == f"{payment.idempotency_key}:capture"
    event = invoice.ticket.events.order_by("-seq").first()
    assert (event.kind, event.payload["provider"]) == (EventKind.PAYMENT_RECEIVED, "paypal")
    # Coming back to the return URL again captures nothing more.
    assert services.capture_paypal_payment(payment).status == PaymentStatus.SUCCEEDED
    assert len(paypal_fake.captures) == 1


def test_instrument_declined_fails_and_a_new_order_can_be_started(paypal_fake, invoice):
    payment = _start(invoice)
    paypal_fake.approve(payment.provider_payment_id)
    paypal_fake.decline_next_capture("INSTRUMENT_DECLINED")
    payment = services.capture_paypal_payment(payment)
    assert payment.status == PaymentStatus.FAILED and payment.failure_code == "INSTRUMENT_DECLINED"
    assert invoice.ticket.events.order_by("-seq").first().kind == EventKind.PAYMENT_FAILED
    retry = _start(invoice)
    assert retry.pk != payment.pk and retry.attempt == 2
    assert (
        paypal_fake.orders[retry.provider_payment_id]["purchase_units"][0]["invoice_id"]
        == f"{invoice.number}-2"
    )


def test_a_denied_capture_fails(paypal_fake, invoice):
    payment = _start(invoice)
    paypal_fake.approve(payment.provider_payment_id)
    paypal_fake.decline_next_capture("DECLINED")
    payment = services.capture_paypal_payment(payment)
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "DECLINED_BY_RISK_FRAUD_FILTERS"
    assert invoice.status == InvoiceStatus.ISSUED


def test_capturing_an_order_the_buyer_did_not_approve_is_explained(paypal_fake, invoice):
    payment = _start(invoice)
    with pytest.raises(ValidationError, match="ORDER_NOT_APPROVED"):
        services.capture_paypal_payment(payment)


def test_wrong_credentials_are_explained(paypal_fake, invoice, settings):
    settings.PAYPAL_CLIENT_SECRET = "wrong"
    with pytest.raises(ValidationError, match="PayPal refused our credentials"):
        _start(invoice)


def test_a_deposit_can_be_paid_with_paypal_before_the_repair_is_done(paypal_fake, ticket):
    payment = _start(deposit_invoice(ticket, 2500))
    assert paypal_fake.orders[payment.provider_payment_id]["purchase_units"][0]["amount"]["value"] == "25.00"
