"""Paying an invoice online: a Stripe PaymentIntent confirmed by Stripe.js, or a PayPal order
approved at PayPal and captured here.

Each attempt is a :class:`Payment` row written *before* the provider is called, carrying the
idempotency key the provider gets. A retry (ours or the SDK's) or a double click therefore reuses
the same intent or order instead of creating a second one; no provider call holds a database lock.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from repairs.lifecycle import Status
from revivatech.roles import acting_user

from ..lifecycle import MONEY_TAKEN, OPEN, InvoiceKind, InvoiceStatus, PaymentStatus, Provider
from ..models import Invoice, Payment
from ..providers import paypal_gateway, stripe_gateway
from ..providers.base import PaymentDeclined, PaymentUpdate, ProviderError, RemotePayment
from . import state

#: PayPal orders not approved within this time are not reused (PayPal lets them expire).
PAYPAL_ORDER_REUSE = timedelta(hours=3)


class PaymentRefused(ValidationError):
    """A payment cannot be started or completed; the message says why (shown to the customer)."""


def online_payment_allowed(invoice: Invoice) -> bool:
    """The lead's rule: an issued invoice is paid online once the device is ready for pickup,
    or at any time when it is a deposit."""
    return invoice.status == InvoiceStatus.ISSUED and (
        invoice.kind == InvoiceKind.DEPOSIT or invoice.ticket.status == Status.READY_FOR_PICKUP
    )


def _check_payable(invoice: Invoice) -> None:
    if invoice.status == InvoiceStatus.PAID:
        raise PaymentRefused("This invoice is already paid. Thank you!")
    if invoice.status != InvoiceStatus.ISSUED:
        raise PaymentRefused("This invoice cannot be paid (it is not open for payment).")
    if not online_payment_allowed(invoice):
        raise PaymentRefused("You can pay online once your device is ready for pickup.")


def _description(invoice: Invoice) -> str:
    return f"{settings.SHOP_NAME} invoice {invoice.number} (repair {invoice.ticket.reference})"


def _new_attempt(invoice: Invoice, provider: str, by=None) -> Payment:
    attempt = invoice.payments.filter(provider=provider).count() + 1
    payment = Payment.objects.create(
        invoice=invoice,
        provider=provider,
        attempt=attempt,
        idempotency_key=f"revivatech:invoice:{invoice.public_id}:{provider}:{attempt}",
        amount=invoice.total,
        currency=invoice.currency,
        created_by=acting_user(by),
    )
    state.record_created(payment, source="checkout", by=by)
    return payment


def _update_from_remote(remote: RemotePayment) -> PaymentUpdate | None:
    if remote.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
        return PaymentUpdate(
            kind="succeeded",
            payment_id=remote.payment_id,
            charge_id=remote.charge_id,
            amount=remote.amount_received,
            currency=remote.currency,
        )
    if remote.status == PaymentStatus.FAILED:
        return PaymentUpdate(
            kind="failed", failure_code=remote.failure_code, failure_message=remote.failure_message
        )
    if remote.status in (PaymentStatus.PROCESSING, PaymentStatus.CANCELED):
        return PaymentUpdate(kind=remote.status)
    return None


def _apply(payment: Payment, update: PaymentUpdate | None, *, source: str) -> Payment:
    with transaction.atomic():
        locked = state.lock_payment(payment.pk)
        if update is not None:
            state.apply_update(locked, update, source=source)
        return locked


# --- Stripe --------------------------------------------------------------------------------------


def start_stripe_payment(invoice: Invoice, *, by=None) -> Payment:
    """The PaymentIntent Stripe.js confirms on the pay page (reused while the attempt is open)."""
    gateway = stripe_gateway()
    if gateway is None:
        raise PaymentRefused("Card payment is not set up; please pay at the shop.")
    if not gateway.supports(invoice.currency):
        raise PaymentRefused(f"Card payment is not available in {invoice.currency}.")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().select_related("ticket").get(pk=invoice.pk)
        _check_payable(locked)
        payment = (
            locked.payments.filter(
                provider=Provider.STRIPE, status__in=OPEN, amount=locked.total, currency=locked.currency
            )
            .order_by("-attempt")
            .first()
        ) or _new_attempt(locked, Provider.STRIPE, by)
    if payment.client_secret:
        return payment
    try:
        remote = gateway.create_payment_intent(
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            description=_description(locked),
            metadata={
                "payment": payment.public_id,
                "invoice": locked.number,
                "ticket": locked.ticket.reference,
            },
        )
    except ProviderError as error:
        raise PaymentRefused(error.message) from error
    with transaction.atomic():
        locked_payment = state.lock_payment(payment.pk)
        locked_payment.provider_payment_id = remote.payment_id
        locked_payment.client_secret = remote.client_secret
        locked_payment.save(update_fields=["provider_payment_id", "client_secret", "updated_at"])
    return locked_payment


def sync_stripe_payment(payment: Payment) -> Payment:
    """Read the PaymentIntent back from Stripe (after Stripe.js redirects the customer here) and
    apply it, so the page shows the outcome at once. Webhooks remain the authority; this applies
    the same forward-only rules, so either may come first."""
    gateway = stripe_gateway()
    if gateway is None or not payment.provider_payment_id:
        return payment
    try:
        remote = gateway.retrieve_payment_intent(payment.provider_payment_id)
    except ProviderError as error:
        raise PaymentRefused(error.message) from error
    return _apply(payment, _update_from_remote(remote), source="stripe:return")


# --- PayPal --------------------------------------------------------------------------------------


def start_paypal_payment(invoice: Invoice, *, return_url: str, cancel_url: str, by=None) -> Payment:
    """A PayPal order for the invoice; the customer is sent to ``payment.approve_url``."""
    gateway = paypal_gateway()
    if gateway is None:
        raise PaymentRefused("PayPal is not set up; please pay at the shop.")
    if not gateway.supports(invoice.currency):
        raise PaymentRefused(f"PayPal is not available in {invoice.currency}.")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().select_related("ticket").get(pk=invoice.pk)
        _check_payable(locked)
        payment = (
            locked.payments.filter(
                provider=Provider.PAYPAL,
                status=PaymentStatus.CREATED,
                amount=locked.total,
                currency=locked.currency,
                created_at__gte=timezone.now() - PAYPAL_ORDER_REUSE,
            )
            .order_by("-attempt")
            .first()
        ) or _new_attempt(locked, Provider.PAYPAL, by)
    if payment.approve_url:
        return payment
    try:
        remote = gateway.create_order(
            amount=payment.amount,
            currency=payment.currency,
            request_id=payment.idempotency_key,
            reference=payment.public_id,
            invoice_id=f"{locked.number}-{payment.attempt}",
            description=_description(locked),
            return_url=return_url,
            cancel_url=cancel_url,
        )
    except ProviderError as error:
        raise PaymentRefused(error.message) from error
    if not remote.approve_url:
        raise PaymentRefused("PayPal did not give us a page to send you to; please try again.")
    with transaction.atomic():
        locked_payment = state.lock_payment(payment.pk)
        locked_payment.provider_payment_id = remote.payment_id
        locked_payment.approve_url = remote.approve_url
        locked_payment.save(update_fields=["provider_payment_id", "approve_url", "updated_at"])
    return locked_payment


def capture_paypal_payment(payment: Payment) -> Payment:
    """The buyer approved the order at PayPal and came back: capture it (once; a repeat capture
    is answered from PayPal's record of the first)."""
    if payment.status in MONEY_TAKEN:
        return payment
    gateway = paypal_gateway()
    if gateway is None:
        raise PaymentRefused("PayPal is not set up; please pay at the shop.")
    try:
        remote = gateway.capture_order(
            payment.provider_payment_id, request_id=f"{payment.idempotency_key}:capture"
        )
    except PaymentDeclined as error:
        update = PaymentUpdate(kind="failed", failure_code=error.code, failure_message=error.message)
        return _apply(payment, update, source="paypal:capture")
    except ProviderError as error:
        raise PaymentRefused(error.message) from error
    return _apply(payment, _update_from_remote(remote), source="paypal:capture")
