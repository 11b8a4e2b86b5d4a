"""Processing verified provider events: stored once, then applied idempotently.

1. The event is stored (unique provider + event id) in its own transaction before anything else.
2. Processing runs in a transaction that locks the stored event row and then the payment row
   (``select_for_update``), so two deliveries of one event at the same moment on PostgreSQL are
   applied once: the second waits, then sees it processed.
3. A duplicate of a processed event is acknowledged and changes nothing. A failure rolls back
   everything the processing did, marks the event failed and is reported to the caller (the
   webhook answers 5xx so the provider delivers it again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import timezone

from ..lifecycle import MONEY_TAKEN, Provider
from ..models import EventStatus, Payment, ProviderEvent
from ..providers import gateway
from ..providers.base import PaymentUpdate, VerifiedEvent, WebhookVerificationUnavailable
from . import state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookResult:
    status: str
    outcome: str
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status != EventStatus.FAILED


def _store(event: VerifiedEvent) -> ProviderEvent:
    stored, _ = ProviderEvent.objects.get_or_create(
        provider=event.provider,
        event_id=event.event_id[:100],
        defaults={"event_type": event.event_type[:80], "payload": event.payload},
    )
    return stored


def _find_payment(provider: str, update: PaymentUpdate) -> Payment | None:
    payments = Payment.objects.select_for_update().filter(provider=provider)
    if update.payment_id:
        found = payments.filter(provider_payment_id=update.payment_id).first()
        if found is not None:
            return found
    if update.charge_id:
        found = payments.filter(provider_charge_id=update.charge_id).first()
        if found is not None:
            return found
    if update.reference:
        found = payments.filter(public_id=update.reference).first()
        # The reference only identifies our payment if the provider's ids do not contradict it.
        consistent = found is not None and found.provider_charge_id in ("", update.charge_id)
        if consistent and (not update.payment_id or found.provider_payment_id in (None, update.payment_id)):
            return found
    return None


def _with_charge_facts(provider: str, update: PaymentUpdate) -> tuple[PaymentUpdate, Payment | None]:
    """A PayPal refund names only its capture. When we do not know that capture yet (the refund
    arrived before the capture's own event), ask PayPal for it: its order id finds our payment,
    and its amount lets the refund settle the payment first."""
    client = gateway(provider)
    if client is None or not update.charge_id or not hasattr(client, "get_capture"):
        return update, None
    remote = client.get_capture(update.charge_id)
    filled = replace(
        update,
        payment_id=update.payment_id or remote.payment_id,
        amount=remote.amount_received,
        currency=update.currency or remote.currency,
    )
    return filled, _find_payment(provider, filled)


def _process(event: VerifiedEvent, stored: ProviderEvent) -> tuple[str, str]:
    update = event.update
    if update is None:
        return EventStatus.IGNORED, f"{event.event_type} is not used"
    payment = _find_payment(event.provider, update)
    needs_facts = update.kind == "refunded" and update.amount is None
    if (
        event.provider == Provider.PAYPAL
        and needs_facts
        and (payment is None or payment.status not in MONEY_TAKEN)
    ):
        update, found = _with_charge_facts(event.provider, update)
        payment = payment or found
    if payment is None:
        return EventStatus.IGNORED, "no payment of ours matches this event"
    payment = state.lock_payment(payment.pk)
    stored.payment = payment
    source = f"webhook:{event.provider}:{event.event_id}"
    return EventStatus.PROCESSED, state.apply_update(payment, update, source=source)


def process_event(event: VerifiedEvent) -> WebhookResult:
    """Store and apply one verified provider event (see the module docstring)."""
    stored = _store(event)
    with transaction.atomic():
        stored = ProviderEvent.objects.select_for_update().get(pk=stored.pk)
        if stored.status in (EventStatus.PROCESSED, EventStatus.IGNORED):
            return WebhookResult(stored.status, "duplicate: already handled", duplicate=True)
        stored.attempts += 1
        try:
            with transaction.atomic():
                status, outcome = _process(event, stored)
        except Exception as error:  # reported as a 5xx: the provider will deliver it again
            logger.exception("processing %s event %s failed", event.provider, event.event_id)
            stored.status = EventStatus.FAILED
            stored.outcome = f"{error.__class__.__name__}: {error}"[:300]
            stored.payment = None
            stored.save(update_fields=["status", "outcome", "attempts", "payment"])
            return WebhookResult(EventStatus.FAILED, stored.outcome)
        stored.status = status
        stored.outcome = outcome[:300]
        stored.processed_at = timezone.now()
        stored.save(update_fields=["status", "outcome", "attempts", "payment", "processed_at"])
    return WebhookResult(status, outcome)


def receive_stripe_webhook(body: bytes, signature_header: str) -> WebhookResult:
    """Verify a delivery to /webhooks/stripe/ against its raw body, then process it.
    Raises WebhookVerificationError (400) or WebhookVerificationUnavailable (503)."""
    client = gateway(Provider.STRIPE)
    if client is None or not client.can_verify_webhooks:
        raise WebhookVerificationUnavailable("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    return process_event(client.verify_webhook(body, signature_header))


def receive_paypal_webhook(body: bytes, headers: Mapping[str, str]) -> WebhookResult:
    """Verify a delivery to /webhooks/paypal/ with PayPal's verify-webhook-signature API, then
    process it. Raises WebhookVerificationError (400) or WebhookVerificationUnavailable (503)."""
    client = gateway(Provider.PAYPAL)
    if client is None:
        raise WebhookVerificationUnavailable(
            "PayPal is not configured (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET)."
        )
    return process_event(client.verify_webhook(body, headers))
