"""Factories and helpers for payments tests.

Invoices are made through the services, as staff would make them; ``PaymentFactory`` plants a
payment row directly, for reconciliation tests that need a local record the providers disagree
with.
"""

from __future__ import annotations

import secrets

import factory

from payments import services
from payments.lifecycle import InvoiceKind, LineKind, PaymentStatus, Provider
from payments.models import Invoice, Payment
from repairs.models import RepairTicket
from tests.factories import advance, make_ticket

READY = (
    "received",
    "diagnosing",
    "awaiting_approval",
    "approved",
    "in_repair",
    "quality_check",
    "ready_for_pickup",
)


def ready_ticket(customer=None, technician=None, *, quote: int = 8900) -> RepairTicket:
    """A ticket with an approved quote of ``quote`` (minor units), ready for pickup."""
    ticket = make_ticket(customer=customer, technician=technician)
    ticket = advance(ticket, "received", "diagnosing")
    services_quote(ticket, quote)
    return advance(ticket.__class__.objects.get(pk=ticket.pk), *READY[2:])


def services_quote(ticket: RepairTicket, amount: int) -> None:
    from repairs import services as repair_services

    repair_services.send_quote(ticket, amount=amount)


def issued_invoice(ticket: RepairTicket, *, lines=None, kind: str = InvoiceKind.FINAL, **kwargs) -> Invoice:
    invoice = services.create_invoice(ticket, kind=kind, lines=lines, **kwargs)
    return services.issue_invoice(invoice)


def deposit_invoice(ticket: RepairTicket, amount: int = 2000) -> Invoice:
    line = services.LineInput(LineKind.OTHER, "Deposit for parts", amount)
    return issued_invoice(ticket, kind=InvoiceKind.DEPOSIT, lines=[line])


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment row as it would be after the given history (for reconciliation tests)."""

    class Meta:
        model = Payment

    provider = Provider.STRIPE
    idempotency_key = factory.LazyFunction(lambda: f"test:{secrets.token_hex(8)}")
    amount = factory.LazyAttribute(lambda p: p.invoice.total)
    currency = factory.LazyAttribute(lambda p: p.invoice.currency)
    status = PaymentStatus.SUCCEEDED
    amount_received = factory.LazyAttribute(lambda p: p.amount if p.status != PaymentStatus.CREATED else None)
