"""Concurrent deliveries on PostgreSQL: the stored event and the payment row are locked, so a
duplicate delivered at the same moment is applied once (SQLite serialises writes anyway)."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from payments import services
from payments.lifecycle import PaymentStatus
from payments.models import ProviderEvent
from repairs.models import EventKind
from tests.fakes.stripe import sign
from tests.payments.factories import issued_invoice


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (DATABASE_URL)")


def _deliver_at_once(bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def post(body: bytes) -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                "/webhooks/stripe/",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign(body),
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.postgres
def test_the_same_event_delivered_four_times_at_once_is_applied_once(postgres_only, stripe_fake, ready):
    payment = services.start_stripe_payment(issued_invoice(ready))
    intent = stripe_fake.customer_pays(payment.provider_payment_id)
    body = json.dumps(stripe_fake.event("payment_intent.succeeded", intent)).encode()
    assert _deliver_at_once([body] * 4) == [200] * 4
    assert ProviderEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.history.filter(to_status=PaymentStatus.SUCCEEDED).count() == 1
    assert ready.events.filter(kind=EventKind.PAYMENT_RECEIVED).count() == 1


@pytest.mark.postgres
def test_success_and_refund_at_once_end_consistent(postgres_only, stripe_fake, ready):
    payment = services.start_stripe_payment(issued_invoice(ready))
    intent = stripe_fake.customer_pays(payment.provider_payment_id)
    succeeded = json.dumps(stripe_fake.event("payment_intent.succeeded", intent)).encode()
    charge = stripe_fake.refund_in_dashboard(intent["id"], 2500)
    refunded = json.dumps(stripe_fake.event("charge.refunded", charge)).encode()
    assert sorted(_deliver_at_once([succeeded, refunded])) == [200, 200]
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2500)
    assert ready.events.filter(kind=EventKind.PAYMENT_RECEIVED).count() == 1
    assert ready.events.filter(kind=EventKind.PAYMENT_REFUNDED).count() == 1
