"""Invoices: drafted from the quote or line by line, issued onto the timeline, voided, paid at
the counter."""

from datetime import datetime

import pytest
from django.core.exceptions import ValidationError

from payments import services
from payments.lifecycle import InvoiceKind, InvoiceStatus, LineKind, PaymentStatus, Provider
from repairs.models import EventKind
from tests.factories import make_ticket
from tests.payments.factories import deposit_invoice, issued_invoice

Line = services.LineInput


def test_an_invoice_from_the_approved_quote(ready):
    invoice = services.create_invoice(ready)
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    lines = list(invoice.lines.values_list("kind", "description", "quantity", "unit_amount", "amount"))
    assert lines == [(LineKind.LABOUR, "Repair as quoted", 1, 8900, 8900)]
    # UK prices include VAT at 20 %: the quote is what the customer pays.
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (7417, 1483, 8900)
    assert invoice.currency == "GBP"


def test_lines_for_parts_and_labour_with_tax_on_top(ready):
    invoice = services.create_invoice(
        ready,
        lines=[Line(LineKind.PART, "Battery", 3500), Line(LineKind.LABOUR, "Fitting", 2000, quantity=2)],
        prices_include_tax=False,
        tax_rate_basis_points=2000,
    )
    assert [line.amount for line in invoice.lines.all()] == [3500, 4000]
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (7500, 1500, 9000)


def test_a_paid_deposit_is_credited_on_the_final_invoice(ready):
    deposit = deposit_invoice(ready, 2000)
    services.record_counter_payment(deposit)
    final = services.create_invoice(ready)
    assert [(line.kind, line.amount) for line in final.lines.all()] == [
        (LineKind.LABOUR, 8900),
        (LineKind.DEPOSIT_CREDIT, -2000),
    ]
    assert final.total == 6900


def test_no_quote_no_automatic_lines(ticket):
    with pytest.raises(ValidationError, match="no approved quote"):
        services.create_invoice(ticket)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (Line(LineKind.PART, "", 100), "describe it"),
        (Line(LineKind.PART, "Screen", -100), "only a deposit credit may be negative"),
        (Line(LineKind.DEPOSIT_CREDIT, "Deposit", 100), "deposit credit is a negative amount"),
        (Line(LineKind.PART, "Screen", 100, quantity=0), "quantity must be from 1"),
        (Line("gift", "Screen", 100), "choose one of"),
        (Line(LineKind.PART, "Screen", 10.5), "whole number"),
    ],
)
def test_bad_lines_are_refused_with_a_reason(ready, line, message):
    with pytest.raises(ValidationError, match=message):
        services.create_invoice(ready, lines=[line])


def test_unknown_currency_is_refused(ready):
    with pytest.raises(ValidationError, match="Unsupported currency"):
        services.create_invoice(ready, currency="XYZ", lines=[Line(LineKind.PART, "Screen", 100)])


def test_issuing_numbers_the_invoice_and_puts_it_on_the_timeline(ready, customer):
    first = issued_invoice(ready)
    year = datetime.now().year
    assert first.number == f"INV-{year}-00001"
    assert first.status == InvoiceStatus.ISSUED and first.issued_at is not None
    assert (first.billing_name, first.billing_email) == (customer.name, customer.email)
    event = ready.events.order_by("-seq").first()
    assert event.kind == EventKind.INVOICE_ISSUED and event.customer_visible
    assert event.payload["invoice_id"] == first.number
    assert (event.payload["amount"], event.payload["currency"]) == (8900, "GBP")

    other = make_ticket()
    second = issued_invoice(other, lines=[Line(LineKind.OTHER, "Diagnosis", 2500)])
    assert second.number == f"INV-{year}-00002"


def test_one_open_repair_invoice_per_ticket(ready):
    issued_invoice(ready)
    again = services.create_invoice(ready)
    with pytest.raises(ValidationError, match="already has repair invoice"):
        services.issue_invoice(again)


def test_issued_invoices_cannot_be_edited_or_issued_twice(ready):
    invoice = issued_invoice(ready)
    with pytest.raises(ValidationError, match="Only a draft"):
        services.update_draft_invoice(invoice, lines=[Line(LineKind.PART, "x", 1)])
    with pytest.raises(ValidationError, match="already issued"):
        services.issue_invoice(invoice)


def test_a_zero_invoice_is_not_issued(ready):
    draft = services.create_invoice(ready, lines=[Line(LineKind.OTHER, "Goodwill", 0)])
    with pytest.raises(ValidationError, match="more than zero"):
        services.issue_invoice(draft)


def test_void_and_replace(ready):
    invoice = issued_invoice(ready)
    services.void_invoice(invoice, reason="Wrong part listed")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID and "Wrong part listed" in invoice.notes
    replacement = issued_invoice(ready)
    assert replacement.status == InvoiceStatus.ISSUED


def test_paying_at_the_counter_settles_the_invoice(ready, staff_user):
    invoice = issued_invoice(ready)
    payment = services.record_counter_payment(invoice, by=staff_user)
    invoice.refresh_from_db()
    assert payment.provider == Provider.COUNTER and payment.status == PaymentStatus.SUCCEEDED
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None
    event = ready.events.order_by("-seq").first()
    assert event.kind == EventKind.PAYMENT_RECEIVED
    assert event.payload["invoice_id"] == invoice.number and event.actor == staff_user
    assert list(payment.history.values_list("from_status", "to_status")) == [
        ("", "created"),
        ("created", "succeeded"),
    ]
    with pytest.raises(ValidationError, match="is paid"):
        services.void_invoice(invoice)


def test_deposits_may_be_asked_for_while_the_repair_is_open(ticket):
    invoice = deposit_invoice(ticket, 1500)
    assert invoice.kind == InvoiceKind.DEPOSIT and invoice.total == 1500
    with pytest.raises(ValidationError, match="Say how much deposit"):
        services.create_invoice(ticket, kind=InvoiceKind.DEPOSIT)


def test_an_invoice_from_the_quote_is_in_the_quote_currency(ready):
    with pytest.raises(ValidationError, match="The quote is in GBP"):
        services.create_invoice(ready, currency="EUR")
