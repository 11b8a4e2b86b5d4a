"""Reads other apps use: the ticket's invoice and payment, revenue, failed payments."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments import selectors, services
from payments.lifecycle import PaymentStatus
from payments.models import Payment, PaymentStatusChange, Refund
from tests.factories import make_ticket
from tests.payments.factories import deposit_invoice, issued_invoice

pytestmark = pytest.mark.django_db


def test_invoice_and_payment_for_a_ticket(ready, stripe_fake):
    assert selectors.invoice_for_ticket(ready) is None and selectors.payment_for_ticket(ready) is None
    invoice = issued_invoice(ready)
    payment = services.start_stripe_payment(invoice)
    assert selectors.invoice_for_ticket(ready) == invoice
    assert selectors.payable_invoice(ready) == invoice
    assert selectors.payment_for_ticket(ready) == payment
    assert selectors.invoice_by_number(invoice.number) == invoice


def test_a_deposit_is_payable_before_the_final_invoice(ticket):
    final = issued_invoice(ticket, lines=[services.LineInput("labour", "Diagnosis", 3000)])
    assert selectors.payable_invoice(ticket) is None, "the repair is not ready"
    deposit = deposit_invoice(ticket)
    assert selectors.payable_invoice(ticket) == deposit
    assert final != deposit


def test_revenue_over_a_period_per_currency(ready, other_customer):
    now = timezone.now()
    paid = services.record_counter_payment(issued_invoice(ready))
    services.refund_payment(paid, amount=1000)
    euro = deposit_invoice(make_ticket(), 2000)
    euro_invoice = services.create_invoice(
        euro.ticket, lines=[services.LineInput("part", "Fan", 4550)], currency="EUR"
    )
    services.void_invoice(euro)
    services.record_counter_payment(services.issue_invoice(euro_invoice))
    # An old payment and an old refund fall outside the period.
    old = services.record_counter_payment(deposit_invoice(make_ticket(), 700))
    Payment.objects.filter(pk=old.pk).update(succeeded_at=now - timedelta(days=40))
    Refund.objects.filter(payment=paid).update(completed_at=now - timedelta(days=40))

    figures = selectors.revenue(now - timedelta(days=1), now + timedelta(minutes=1))
    assert set(figures) == {"GBP", "EUR"}
    assert (figures["GBP"].gross, figures["GBP"].refunded, figures["GBP"].net, figures["GBP"].payments) == (
        8900,
        0,
        8900,
        1,
    )
    assert (figures["EUR"].gross, figures["EUR"].payments) == (4550, 1)
    earlier = selectors.revenue(now - timedelta(days=41), now - timedelta(days=39))
    assert (earlier["GBP"].gross, earlier["GBP"].refunded, earlier["GBP"].net) == (700, 1000, -300)


def test_failed_payments_in_a_period(stripe_fake, ready, other_customer):
    invoice = issued_invoice(ready)
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id, outcome="card_declined")
    services.sync_stripe_payment(payment)
    now = timezone.now()
    assert selectors.failed_payments_count(now - timedelta(hours=1), now + timedelta(minutes=1)) == 1
    PaymentStatusChange.objects.filter(to_status=PaymentStatus.FAILED).update(
        created_at=now - timedelta(days=3)
    )
    assert selectors.failed_payments_count(now - timedelta(hours=1), now + timedelta(minutes=1)) == 0


def test_what_staff_should_look_at(stripe_fake, ready):
    invoice = issued_invoice(ready)
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id)
    services.record_counter_payment(invoice)
    services.sync_stripe_payment(payment)
    assert list(selectors.payments_needing_review()) == [payment]
    stripe_fake.add_payment_intent(amount=100)
    now = timezone.now()
    run = services.reconcile_payments(since=now - timedelta(hours=1), until=now + timedelta(minutes=1))
    assert [issue.run for issue in selectors.open_reconciliation_issues()] == [run]
