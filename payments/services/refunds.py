"""Refunds, full or partial, made by staff through the provider's API."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revivatech.roles import acting_user

from ..lifecycle import REFUNDABLE, Provider
from ..models import Payment, Refund, RefundStatus
from ..providers import paypal_gateway, stripe_gateway
from ..providers.base import ProviderError, RemoteRefund
from . import state

MAX_REASON = 300


def refund_payment(payment: Payment, *, amount: int, reason: str = "", by=None) -> Refund:
    """Give back ``amount`` minor units of a payment through its provider.

    The payment row stays locked during the provider call, so two refunds (or a refund and the
    provider's webhook about it) never overlap: the webhook then finds the refund recorded and
    changes nothing. The refund's idempotency key is derived from the payment and the number of
    refunds already recorded and the amount, so retrying a refund whose answer was lost (same
    amount, nothing recorded since) reuses the provider's first answer instead of refunding twice.
    """
    reason = (reason or "").strip()[:MAX_REASON]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError({"amount": "Refund a whole, positive amount in minor units."})
    with transaction.atomic():
        locked = state.lock_payment(payment.pk)
        if locked.status not in REFUNDABLE:
            raise ValidationError(
                {"amount": f"A {locked.get_status_display().lower()} payment cannot be refunded."}
            )
        if amount > locked.refundable_amount:
            raise ValidationError(
                {
                    "amount": f"At most {locked.refundable_amount} minor units are left to refund "
                    "on this payment."
                }
            )
        number = locked.refunds.exclude(status=RefundStatus.FAILED).count() + 1
        refund = Refund.objects.create(
            payment=locked,
            amount=amount,
            currency=locked.currency,
            reason=reason,
            idempotency_key=f"revivatech:refund:{locked.public_id}:{number}:{amount}",
            requested_by=acting_user(by),
        )
        try:
            remote = _call_provider(locked, refund)
        except ProviderError as error:
            # Roll back (the refund did not happen), then keep a record of the failure.
            transaction.set_rollback(True)
            failure = error.message
        else:
            failure = ""
            refund.provider_refund_id = remote.refund_id or None
            refund.status = RefundStatus.SUCCEEDED if remote.status == "succeeded" else RefundStatus.PENDING
            refund.completed_at = timezone.now() if refund.status == RefundStatus.SUCCEEDED else None
            refund.save()
            if refund.status == RefundStatus.SUCCEEDED:
                state.refunded(
                    locked,
                    total=remote.refunded_total,
                    source="admin:refund",
                    reason=reason or "Refund from the shop.",
                    by=by,
                )
    if failure:
        Refund.objects.create(
            payment=payment,
            amount=amount,
            currency=payment.currency,
            reason=reason,
            status=RefundStatus.FAILED,
            failure_message=failure[:500],
            requested_by=refund.requested_by,
        )
        raise ValidationError({"amount": f"The refund did not go through: {failure}"})
    return refund


def _call_provider(payment: Payment, refund: Refund) -> RemoteRefund:
    if payment.provider == Provider.STRIPE:
        client = stripe_gateway()
        if client is None:
            raise ProviderError("Stripe is not configured on this site.")
        return client.refund(
            payment_id=payment.provider_payment_id or "",
            amount=refund.amount,
            idempotency_key=refund.idempotency_key or "",
            metadata={
                "payment": payment.public_id,
                "refund": str(refund.pk),
                "invoice": payment.invoice.number or "",
            },
        )
    if payment.provider == Provider.PAYPAL:
        client = paypal_gateway()
        if client is None:
            raise ProviderError("PayPal is not configured on this site.")
        if not payment.provider_charge_id:
            raise ProviderError("This PayPal payment has no capture to refund.")
        return client.refund_capture(
            payment.provider_charge_id,
            amount=refund.amount,
            currency=payment.currency,
            request_id=refund.idempotency_key or "",
            reference=payment.public_id,
            invoice_id=f"{payment.invoice.number}-{payment.attempt}",
            note=refund.reason,
        )
    if payment.provider == Provider.COUNTER:
        # Money taken at the shop goes back at the shop: record it.
        return RemoteRefund(refund_id="", amount=refund.amount, currency=refund.currency, status="succeeded")
    raise ProviderError(f"Unknown provider {payment.provider}.")
