"""Applying what a provider says to a payment: the state machine, the status history, the
invoice and the ticket's timeline. Every function here expects the payment row to be locked by
its caller (``select_for_update``) inside a transaction.

Lock order, everywhere in the payments app: payment → invoice → ticket (the ticket is locked by
``repairs.services.record_ticket_event``).
"""

from __future__ import annotations

from django.db.models import Sum
from django.utils import timezone

from repairs import services as repair_services
from revivatech.events import EventKind
from revivatech.roles import acting_user

from ..lifecycle import MONEY_TAKEN, InvoiceStatus, PaymentStatus, can_transition
from ..models import Invoice, Payment, PaymentStatusChange, Refund, RefundStatus
from ..providers.base import PaymentUpdate


def lock_payment(payment_pk: int) -> Payment:
    return Payment.objects.select_for_update().select_related("invoice", "invoice__ticket").get(pk=payment_pk)


def _lock_invoice(payment: Payment) -> Invoice:
    invoice = Invoice.objects.select_for_update().select_related("ticket").get(pk=payment.invoice_id)
    payment.invoice = invoice
    return invoice


def move(payment: Payment, to_status: str, *, source: str, note: str = "", by=None) -> bool:
    """Move ``payment`` forward to ``to_status`` with a history row; False (and no change) when
    the state machine does not allow it (a stale or out-of-order update)."""
    if payment.status == to_status or not can_transition(payment.status, to_status):
        return False
    PaymentStatusChange.objects.create(
        payment=payment,
        from_status=payment.status,
        to_status=to_status,
        source=source[:120],
        note=note[:300],
        changed_by=acting_user(by),
    )
    payment.status = to_status
    return True


def record_created(payment: Payment, *, source: str, by=None) -> None:
    PaymentStatusChange.objects.create(
        payment=payment,
        from_status="",
        to_status=payment.status,
        source=source,
        changed_by=acting_user(by),
    )


def _timeline(payment: Payment, kind: str, amount: int, *, by=None, **extra: str) -> None:
    invoice = payment.invoice
    repair_services.record_ticket_event(
        invoice.ticket,
        kind=kind,
        payload={
            "invoice_id": invoice.number,
            "amount": amount,
            "currency": payment.currency,
            "provider": payment.provider,
            **extra,
        },
        customer_visible=True,
        by=by,
    )


def settle(
    payment: Payment, *, amount: int | None, currency: str, charge_id: str = "", source: str, by=None
) -> str:
    """The provider took ``amount``: mark the payment succeeded and the invoice paid, or put the
    payment under review when the amount, the currency or the invoice is not what we expect."""
    if charge_id and not payment.provider_charge_id:
        payment.provider_charge_id = charge_id
    if payment.status in MONEY_TAKEN:
        payment.save()
        return f"already {payment.status}"
    invoice = _lock_invoice(payment)
    payment.amount_received = amount
    problems = []
    currency = (currency or "").upper()
    if currency != payment.currency or currency != invoice.currency:
        problems.append(f"received currency {currency or '?'}, invoice is in {invoice.currency}")
    if amount != payment.amount or amount != invoice.total:
        problems.append(f"received {amount} minor units, invoice total is {invoice.total}")
    if invoice.status == InvoiceStatus.VOID:
        problems.append(f"invoice {invoice} is void")
    elif invoice.status != InvoiceStatus.ISSUED:
        problems.append(f"invoice {invoice} is already {invoice.get_status_display().lower()}")
    if problems:
        reason = "; ".join(problems)
        if not move(payment, PaymentStatus.NEEDS_REVIEW, source=source, note=reason, by=by):
            payment.save()
            return f"ignored: cannot review from {payment.status}"
        payment.review_reason = reason[:300]
        payment.save()
        return f"needs review: {reason}"
    if not move(payment, PaymentStatus.SUCCEEDED, source=source, by=by):
        payment.save()
        return f"ignored: cannot succeed from {payment.status}"
    payment.succeeded_at = timezone.now()
    payment.failure_code = payment.failure_message = ""
    payment.save()
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = payment.succeeded_at
    invoice.save(update_fields=["status", "paid_at", "updated_at"])
    _timeline(payment, EventKind.PAYMENT_RECEIVED, amount or 0, by=by)
    return "succeeded"


def fail(payment: Payment, *, code: str, message: str, source: str, by=None) -> str:
    if not move(payment, PaymentStatus.FAILED, source=source, note=code, by=by):
        return f"ignored: already {payment.status}"
    payment.failure_code = code[:64]
    payment.failure_message = message[:500]
    payment.save()
    _timeline(payment, EventKind.PAYMENT_FAILED, payment.amount, by=by, failure_code=code[:64])
    return "failed"


def refunded(
    payment: Payment,
    *,
    total: int | None,
    refund_id: str = "",
    refund_amount: int | None = None,
    source: str,
    reason: str = "",
    by=None,
) -> str:
    """The provider reports refunds on this payment. Totals only grow (out-of-order reports of a
    smaller total change nothing), every refunded minor unit has a :class:`Refund` row, and the
    customer's timeline gets one entry per increase."""
    if refund_id and refund_amount and not payment.refunds.filter(provider_refund_id=refund_id).exists():
        Refund.objects.create(
            payment=payment,
            amount=refund_amount,
            currency=payment.currency,
            reason=reason or f"Refund made at {payment.get_provider_display()}",
            status=RefundStatus.SUCCEEDED,
            provider_refund_id=refund_id,
            completed_at=timezone.now(),
        )
    recorded = payment.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or 0
    new_total = max(payment.amount_refunded, total or 0, recorded)
    if new_total > recorded:
        Refund.objects.create(
            payment=payment,
            amount=new_total - recorded,
            currency=payment.currency,
            reason=f"Refund reported by {payment.get_provider_display()} (not made from this site)",
            status=RefundStatus.SUCCEEDED,
            completed_at=timezone.now(),
        )
    increase = new_total - payment.amount_refunded
    if increase <= 0:
        return "no change: refund already recorded"
    payment.amount_refunded = new_total
    received = payment.amount_received or payment.amount
    fully = new_total >= received
    invoice = _lock_invoice(payment)
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
        move(
            payment,
            PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED,
            source=source,
            note=reason,
            by=by,
        )
        if fully and invoice.status == InvoiceStatus.PAID:
            invoice.status = InvoiceStatus.REFUNDED
            invoice.save(update_fields=["status", "updated_at"])
    elif payment.status == PaymentStatus.NEEDS_REVIEW and fully:
        move(payment, PaymentStatus.REFUNDED, source=source, note="refunded in full after review", by=by)
    payment.save()
    _timeline(payment, EventKind.PAYMENT_REFUNDED, increase, by=by, reason=reason or "We have refunded you.")
    return f"refunded {increase} (total {new_total})"


def apply_update(payment: Payment, update: PaymentUpdate, *, source: str, by=None) -> str:
    """Apply one provider report to a locked payment; returns what happened, for the log."""
    if update.kind == "succeeded":
        return settle(
            payment, amount=update.amount, currency=update.currency, charge_id=update.charge_id, source=source
        )
    if update.kind == "processing":
        changed = move(payment, PaymentStatus.PROCESSING, source=source)
        if changed:
            payment.save()
        return "processing" if changed else f"ignored: already {payment.status}"
    if update.kind == "failed":
        return fail(payment, code=update.failure_code, message=update.failure_message, source=source)
    if update.kind == "canceled":
        changed = move(payment, PaymentStatus.CANCELED, source=source)
        if changed:
            payment.save()
        return "canceled" if changed else f"ignored: already {payment.status}"
    if update.kind == "refunded":
        outcome = ""
        if payment.status not in MONEY_TAKEN and update.amount is not None:
            # A refund proves the money was taken: settle first, so the order of events
            # does not matter.
            outcome = settle(
                payment,
                amount=update.amount,
                currency=update.currency,
                charge_id=update.charge_id,
                source=source,
            )
            outcome += "; "
        return outcome + refunded(
            payment,
            total=update.refunded_total,
            refund_id=update.refund_id,
            refund_amount=update.refund_amount,
            source=source,
        )
    if update.kind == "disputed":
        if update.charge_id and not payment.provider_charge_id:
            payment.provider_charge_id = update.charge_id
        changed = move(payment, PaymentStatus.DISPUTED, source=source, note=update.note)
        payment.save()
        return "disputed" if changed else f"ignored: already {payment.status}"
    return f"ignored: {update.kind} is not handled"
