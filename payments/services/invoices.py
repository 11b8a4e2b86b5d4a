"""Invoices: drafted by staff (from the approved quote, or line by line), issued (numbered, put on
the ticket's timeline), voided, or settled at the counter."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from repairs import services as repair_services
from repairs.models import QuoteDecision, RepairTicket
from revivatech.events import EventKind
from revivatech.money import MAX_MINOR_UNITS, MoneyError, normalise_currency, split_tax
from revivatech.roles import acting_user

from ..lifecycle import InvoiceKind, InvoiceStatus, LineKind, PaymentStatus, Provider
from ..models import Invoice, InvoiceCounter, InvoiceLine, Payment
from . import state

MAX_LINES = 50
MAX_QUANTITY = 1000
MAX_TAX_RATE_BASIS_POINTS = 10_000


@dataclass(frozen=True)
class LineInput:
    kind: str
    description: str
    unit_amount: int
    quantity: int = 1


def _clean_lines(lines: list[LineInput]) -> list[LineInput]:
    if not lines:
        raise ValidationError({"lines": "Add at least one line (a part, labour or another charge)."})
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": f"An invoice has at most {MAX_LINES} lines."})
    cleaned = []
    for number, line in enumerate(lines, start=1):
        where = f"Line {number}"
        if line.kind not in LineKind.values:
            raise ValidationError({"lines": f"{where}: choose one of {', '.join(LineKind.values)}."})
        description = (line.description or "").strip()
        if not description or len(description) > 200:
            raise ValidationError({"lines": f"{where}: describe it in 1 to 200 characters."})
        for value, name in ((line.quantity, "quantity"), (line.unit_amount, "unit amount")):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError({"lines": f"{where}: the {name} must be a whole number."})
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationError({"lines": f"{where}: the quantity must be from 1 to {MAX_QUANTITY}."})
        if abs(line.unit_amount) * line.quantity > MAX_MINOR_UNITS:
            raise ValidationError({"lines": f"{where}: the amount is too large."})
        if line.kind == LineKind.DEPOSIT_CREDIT and line.unit_amount > 0:
            raise ValidationError({"lines": f"{where}: a deposit credit is a negative amount."})
        if line.kind != LineKind.DEPOSIT_CREDIT and line.unit_amount < 0:
            raise ValidationError({"lines": f"{where}: only a deposit credit may be negative."})
        cleaned.append(LineInput(line.kind, description, line.unit_amount, line.quantity))
    return cleaned


def _clean_tax_rate(rate: int | None) -> int:
    rate = settings.PAYMENTS_TAX_RATE_BASIS_POINTS if rate is None else rate
    if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= MAX_TAX_RATE_BASIS_POINTS:
        raise ValidationError({"tax_rate_basis_points": "The tax rate must be from 0 to 10000 basis points."})
    return rate


def _write_lines(invoice: Invoice, lines: list[LineInput]) -> None:
    invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.quantity * line.unit_amount,
        )
        for position, line in enumerate(lines)
    )
    lines_total = sum(line.quantity * line.unit_amount for line in lines)
    invoice.subtotal, invoice.tax_amount, invoice.total = split_tax(
        lines_total, invoice.tax_rate_basis_points, prices_include_tax=invoice.prices_include_tax
    )


def lines_from_quote(ticket: RepairTicket) -> list[LineInput]:
    """The approved quote as one labour line, less any deposit already paid on the repair."""
    if ticket.quote_amount is None or ticket.quote_decision != QuoteDecision.APPROVED:
        raise ValidationError({"lines": "This repair has no approved quote: add the invoice lines yourself."})
    lines = [LineInput(LineKind.LABOUR, "Repair as quoted", ticket.quote_amount)]
    deposits = Invoice.objects.filter(
        ticket=ticket, kind=InvoiceKind.DEPOSIT, status=InvoiceStatus.PAID, currency=ticket.quote_currency
    ).order_by("issued_at")
    for deposit in deposits:
        lines.append(LineInput(LineKind.DEPOSIT_CREDIT, f"Deposit paid ({deposit.number})", -deposit.total))
    return lines


@transaction.atomic
def create_invoice(
    ticket: RepairTicket,
    *,
    kind: str = InvoiceKind.FINAL,
    lines: list[LineInput] | None = None,
    currency: str | None = None,
    tax_rate_basis_points: int | None = None,
    prices_include_tax: bool | None = None,
    notes: str = "",
    by=None,
) -> Invoice:
    """A draft invoice for a repair. Without lines, a repair invoice is made from the approved
    quote (less deposits paid); a deposit needs its line."""
    if kind not in InvoiceKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(InvoiceKind.values)}."})
    if lines is None:
        if kind == InvoiceKind.DEPOSIT:
            raise ValidationError({"lines": "Say how much deposit to ask for (one line)."})
        lines = lines_from_quote(ticket)
        if currency and currency.upper() != ticket.quote_currency:
            raise ValidationError(
                {"currency": f"The quote is in {ticket.quote_currency}: invoice in it, or type the lines."}
            )
    try:
        currency = normalise_currency(currency or ticket.quote_currency or settings.SHOP_CURRENCY)
    except MoneyError as error:
        raise ValidationError({"currency": str(error)}) from error
    invoice = Invoice(
        ticket=ticket,
        kind=kind,
        currency=currency,
        tax_rate_basis_points=_clean_tax_rate(tax_rate_basis_points),
        prices_include_tax=(
            settings.PAYMENTS_PRICES_INCLUDE_TAX if prices_include_tax is None else bool(prices_include_tax)
        ),
        notes=(notes or "").strip()[:2000],
        created_by=acting_user(by),
    )
    cleaned = _clean_lines(lines)
    invoice.save()
    _write_lines(invoice, cleaned)
    invoice.save()
    return invoice


@transaction.atomic
def update_draft_invoice(
    invoice: Invoice,
    *,
    lines: list[LineInput],
    tax_rate_basis_points: int | None = None,
    prices_include_tax: bool | None = None,
    notes: str | None = None,
    by=None,
) -> Invoice:
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status != InvoiceStatus.DRAFT:
        raise ValidationError({"lines": "Only a draft invoice can be changed; void it and make a new one."})
    if tax_rate_basis_points is not None:
        locked.tax_rate_basis_points = _clean_tax_rate(tax_rate_basis_points)
    if prices_include_tax is not None:
        locked.prices_include_tax = bool(prices_include_tax)
    if notes is not None:
        locked.notes = notes.strip()[:2000]
    _write_lines(locked, _clean_lines(lines))
    locked.save()
    return locked


def _next_number(year: int) -> str:
    counter, _ = InvoiceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"INV-{year}-{counter.last_number:05d}"


@transaction.atomic
def issue_invoice(invoice: Invoice, *, by=None) -> Invoice:
    """Number the draft, copy the customer's name and email onto it, and put it on the ticket's
    timeline (``ticket.invoice_issued``)."""
    locked = Invoice.objects.select_for_update().select_related("ticket__customer").get(pk=invoice.pk)
    if locked.status != InvoiceStatus.DRAFT:
        raise ValidationError(
            {"status": f"Invoice {locked} is already {locked.get_status_display().lower()}."}
        )
    if locked.total <= 0:
        raise ValidationError({"lines": "The invoice total must be more than zero."})
    clash = (
        Invoice.objects.filter(
            ticket_id=locked.ticket_id,
            kind=locked.kind,
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
        )
        .exclude(pk=locked.pk)
        .first()
    )
    if clash is not None and (locked.kind == InvoiceKind.FINAL or clash.status == InvoiceStatus.ISSUED):
        raise ValidationError(
            {
                "status": f"Repair {locked.ticket} already has {clash.get_kind_display().lower()} {clash}; "
                "void it first."
            }
        )
    now = timezone.now()
    locked.number = _next_number(now.year)
    locked.status = InvoiceStatus.ISSUED
    locked.issued_at = now
    customer = locked.ticket.customer
    locked.billing_name = customer.name
    locked.billing_email = customer.email
    locked.save()
    repair_services.record_ticket_event(
        locked.ticket,
        kind=EventKind.INVOICE_ISSUED,
        payload={
            "invoice_id": locked.number,
            "amount": locked.total,
            "currency": locked.currency,
            "kind": locked.kind,
        },
        customer_visible=True,
        by=by,
    )
    return locked


@transaction.atomic
def void_invoice(invoice: Invoice, *, by=None, reason: str = "") -> Invoice:
    """Withdraw an unpaid invoice. A payment that still arrives for it is put under review."""
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status not in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED):
        raise ValidationError(
            {"status": f"Invoice {locked} is {locked.get_status_display().lower()}; refund it instead."}
        )
    in_flight = locked.payments.filter(status=PaymentStatus.PROCESSING).exists()
    if in_flight:
        raise ValidationError(
            {"status": "A payment of this invoice is being processed; wait for it to finish."}
        )
    locked.status = InvoiceStatus.VOID
    locked.voided_at = timezone.now()
    if reason:
        locked.notes = f"{locked.notes}\nVoided: {reason.strip()}".strip()[:2000]
    locked.save()
    return locked


def record_counter_payment(invoice: Invoice, *, by=None, note: str = "") -> Payment:
    """The customer paid at the shop (card terminal or cash): the invoice is settled."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != InvoiceStatus.ISSUED:
            raise ValidationError({"status": f"Invoice {locked} is {locked.get_status_display().lower()}."})
        attempt = locked.payments.filter(provider=Provider.COUNTER).count() + 1
        payment = Payment.objects.create(
            invoice=locked,
            provider=Provider.COUNTER,
            attempt=attempt,
            idempotency_key=f"counter:{locked.public_id}:{attempt}",
            amount=locked.total,
            currency=locked.currency,
            created_by=acting_user(by),
        )
        state.record_created(payment, source="admin", by=by)
        payment = state.lock_payment(payment.pk)
        outcome = state.settle(
            payment, amount=locked.total, currency=locked.currency, source=f"admin:{note}"[:120], by=by
        )
        if payment.status != PaymentStatus.SUCCEEDED:  # pragma: no cover - the invoice was locked
            raise ValidationError({"status": outcome})
        return payment
