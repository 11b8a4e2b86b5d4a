"""Stripe adapter: the only module that imports ``stripe``.

PaymentIntents are created here with our idempotency key, retrieved, refunded and listed; webhook
signatures (``Stripe-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``) are checked
here against the raw body. The API host, time-out and retry count come from settings, so tests
point the real SDK at a loopback fake. Stripe's errors become :mod:`payments.providers.base`
errors; its statuses become ours.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings

from revivatech.money import EXPONENTS

from ..lifecycle import PaymentStatus, Provider
from .base import (
    STRIPE_CURRENCIES,
    NotFoundAtProvider,
    PaymentDeclined,
    PaymentUpdate,
    ProviderError,
    ProviderUnavailable,
    RemotePayment,
    RemoteRefund,
    VerifiedEvent,
    WebhookVerificationError,
)

#: Stripe's amounts are minor units like ours; for three-decimal currencies Stripe wants the
#: last digit to be 0 (checked in :meth:`StripeGateway.check_amount`).
SUPPORTED_CURRENCIES = STRIPE_CURRENCIES
_PAGE_SIZE = 100


def _status_of(intent: dict[str, Any]) -> str:
    status = intent.get("status")
    if status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if status == "canceled":
        return PaymentStatus.CANCELED
    if status in ("processing", "requires_action", "requires_confirmation", "requires_capture"):
        return PaymentStatus.PROCESSING
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return PaymentStatus.FAILED
    return PaymentStatus.CREATED


def _id_of(value: Any) -> str:
    """An expandable field: either the id string or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _failure(intent: dict[str, Any]) -> tuple[str, str]:
    error = intent.get("last_payment_error") or {}
    code = error.get("decline_code") or error.get("code") or ""
    return str(code), str(error.get("message") or "")


def _signed_at(signature_header: str) -> int:
    """The ``t=`` of a Stripe-Signature header the SDK has already accepted."""
    for item in signature_header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            return int(value)
    raise WebhookVerificationError("Invalid Stripe-Signature: no timestamp.")


def _when(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=UTC) if timestamp else None


def _remote_payment(intent: dict[str, Any]) -> RemotePayment:
    code, message = _failure(intent)
    received = intent.get("amount_received")
    return RemotePayment(
        provider=Provider.STRIPE,
        payment_id=intent["id"],
        status=_status_of(intent),
        amount=int(intent.get("amount") or 0),
        currency=str(intent.get("currency") or "").upper(),
        amount_received=int(received) if received else None,
        charge_id=_id_of(intent.get("latest_charge")),
        client_secret=str(intent.get("client_secret") or ""),
        failure_code=code,
        failure_message=message,
        created=_when(intent.get("created")),
        reference=str((intent.get("metadata") or {}).get("payment") or ""),
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _mapped(error: stripe.StripeError) -> ProviderError:
    """Stripe's exception → ours, with a message a person can act on."""
    status = getattr(error, "http_status", None)
    code = str(getattr(error, "code", "") or "")
    detail = (getattr(error, "user_message", None) or str(error) or "").strip()
    if isinstance(error, stripe.CardError):
        decline = str(getattr(error, "json_body", {}).get("error", {}).get("decline_code") or code)
        return PaymentDeclined(detail or "The card was declined.", code=decline, status=status)
    if isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError)) or (
        isinstance(error, stripe.APIError) and (status is None or status >= 500)
    ):
        return ProviderUnavailable(
            "Stripe could not be reached or is busy; nothing was charged twice. Try again in a minute.",
            code=code,
            status=status,
        )
    if isinstance(error, (stripe.AuthenticationError, stripe.PermissionError)):
        return ProviderError(
            "Stripe refused our API key (check STRIPE_SECRET_KEY).", code=code, status=status
        )
    if isinstance(error, stripe.InvalidRequestError) and (status == 404 or code == "resource_missing"):
        return NotFoundAtProvider(f"Stripe does not know this object: {detail}", code=code, status=status)
    return ProviderError(f"Stripe refused the request: {detail}", code=code, status=status)


class StripeGateway:
    provider = Provider.STRIPE

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str,
        webhook_secret: str,
        api_base: str = "",
        timeout: float = 20,
        max_network_retries: int = 2,
        webhook_tolerance: int = 300,
    ) -> None:
        self.publishable_key = publishable_key
        self._webhook_secret = webhook_secret
        self._webhook_tolerance = webhook_tolerance
        options: dict[str, Any] = {
            "max_network_retries": max_network_retries,
            "http_client": stripe.RequestsClient(timeout=timeout),
        }
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        self._client = stripe.StripeClient(secret_key, **options)

    @classmethod
    def from_settings(cls) -> StripeGateway:
        return cls(
            secret_key=settings.STRIPE_SECRET_KEY,
            publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
            webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
            api_base=settings.STRIPE_API_BASE,
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
            webhook_tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )

    # --- payments -------------------------------------------------------------------------------

    def supports(self, currency: str) -> bool:
        return currency.upper() in SUPPORTED_CURRENCIES

    def check_amount(self, amount: int, currency: str) -> None:
        if EXPONENTS.get(currency.upper()) == 3 and amount % 10:
            raise ProviderError(f"Stripe takes {currency} amounts in whole hundredths (last digit 0).")

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> RemotePayment:
        self.check_amount(amount, currency)
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "description": description,
            "metadata": metadata,
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _mapped(error) from error
        return _remote_payment(_as_dict(intent))

    def retrieve_payment_intent(self, payment_id: str) -> RemotePayment:
        try:
            intent = self._client.v1.payment_intents.retrieve(payment_id)
        except stripe.StripeError as error:
            raise _mapped(error) from error
        return _remote_payment(_as_dict(intent))

    def refund(
        self, *, payment_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RemoteRefund:
        try:
            refund = _as_dict(
                self._client.v1.refunds.create(
                    params={"payment_intent": payment_id, "amount": amount, "metadata": metadata},
                    options={"idempotency_key": idempotency_key},
                )
            )
        except stripe.StripeError as error:
            raise _mapped(error) from error
        status = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}.get(
            refund.get("status"), "failed"
        )
        return RemoteRefund(
            refund_id=refund["id"],
            amount=int(refund["amount"]),
            currency=str(refund["currency"]).upper(),
            status=status,
        )

    def list_payments(self, since: datetime, until: datetime) -> list[RemotePayment]:
        """Every PaymentIntent created in [since, until), with refunds and disputes from the
        charges applied to its status."""
        # Stripe's "created" has whole seconds: round the end up so [since, until) loses nothing.
        window = {"gte": math.floor(since.timestamp()), "lt": math.ceil(until.timestamp())}
        try:
            intents = [
                _as_dict(item)
                for item in self._all(
                    self._client.v1.payment_intents.list(params={"created": window, "limit": _PAGE_SIZE})
                )
            ]
            charges = {}
            for item in self._all(
                self._client.v1.charges.list(params={"created": window, "limit": _PAGE_SIZE})
            ):
                charge = _as_dict(item)
                if charge.get("payment_intent"):
                    charges[_id_of(charge["payment_intent"])] = charge
        except stripe.StripeError as error:
            raise _mapped(error) from error
        return [self._with_charge(_remote_payment(intent), charges.get(intent["id"])) for intent in intents]

    def retrieve_with_charge(self, payment_id: str) -> RemotePayment:
        """One PaymentIntent with its latest charge's refunds and dispute applied."""
        try:
            intent = _as_dict(
                self._client.v1.payment_intents.retrieve(payment_id, params={"expand": ["latest_charge"]})
            )
        except stripe.StripeError as error:
            raise _mapped(error) from error
        charge = intent.get("latest_charge") if isinstance(intent.get("latest_charge"), dict) else None
        return self._with_charge(_remote_payment(intent), charge)

    @staticmethod
    def _all(page: Any) -> Iterable[Any]:
        return page.auto_paging_iter()

    @staticmethod
    def _with_charge(remote: RemotePayment, charge: dict[str, Any] | None) -> RemotePayment:
        if not charge or remote.status != PaymentStatus.SUCCEEDED:
            return remote
        refunded = int(charge.get("amount_refunded") or 0)
        status = remote.status
        if charge.get("disputed"):
            status = PaymentStatus.DISPUTED
        elif refunded and refunded >= (remote.amount_received or remote.amount):
            status = PaymentStatus.REFUNDED
        elif refunded:
            status = PaymentStatus.PARTIALLY_REFUNDED
        return replace(remote, status=status, amount_refunded=refunded)

    # --- webhooks -------------------------------------------------------------------------------

    @property
    def can_verify_webhooks(self) -> bool:
        return bool(self._webhook_secret)

    def verify_webhook(self, body: bytes, signature_header: str) -> VerifiedEvent:
        """Check the signature over the raw body (and its age), then read the event."""
        try:
            stripe.WebhookSignature.verify_header(
                body, signature_header, self._webhook_secret, tolerance=self._webhook_tolerance
            )
        except stripe.SignatureVerificationError as error:
            raise WebhookVerificationError(
                f"Invalid Stripe-Signature: {error.user_message or error}"
            ) from error
        except UnicodeDecodeError as error:
            raise WebhookVerificationError("The body is not UTF-8.") from error
        # The SDK only refuses timestamps too far in the past; one far in the future (a signature
        # made ahead, to be replayed for days) is refused here, with the same tolerance.
        ahead = _signed_at(signature_header) - time.time()
        if ahead > self._webhook_tolerance:
            raise WebhookVerificationError(
                f"Invalid Stripe-Signature: timestamp {int(ahead)} s in the future "
                f"(limit {self._webhook_tolerance} s)."
            )
        try:
            event = json.loads(body)
            event_id, event_type = str(event["id"]), str(event["type"])
            obj = event["data"]["object"]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookVerificationError("The body is not a Stripe event.") from error
        return VerifiedEvent(
            provider=Provider.STRIPE,
            event_id=event_id,
            event_type=event_type,
            payload=event,
            update=self._update_from(event_type, obj),
        )

    @staticmethod
    def _update_from(event_type: str, obj: dict[str, Any]) -> PaymentUpdate | None:
        currency = str(obj.get("currency") or "").upper()
        if event_type == "payment_intent.succeeded":
            return PaymentUpdate(
                kind="succeeded",
                payment_id=obj["id"],
                charge_id=_id_of(obj.get("latest_charge")),
                amount=int(obj.get("amount_received") or 0),
                currency=currency,
                reference=str((obj.get("metadata") or {}).get("payment") or ""),
            )
        if event_type == "payment_intent.payment_failed":
            code, message = _failure(obj)
            return PaymentUpdate(
                kind="failed", payment_id=obj["id"], failure_code=code, failure_message=message
            )
        if event_type == "payment_intent.processing":
            return PaymentUpdate(kind="processing", payment_id=obj["id"])
        if event_type == "payment_intent.canceled":
            return PaymentUpdate(kind="canceled", payment_id=obj["id"])
        if event_type == "charge.refunded":
            # A refund proves the charge succeeded: carry its amount, so a refund that arrives
            # before payment_intent.succeeded still ends in the same state.
            captured = obj.get("amount_captured") or obj.get("amount") or 0
            return PaymentUpdate(
                kind="refunded",
                payment_id=_id_of(obj.get("payment_intent")),
                charge_id=str(obj.get("id") or ""),
                amount=int(captured) if obj.get("paid", True) else None,
                currency=currency,
                refunded_total=int(obj.get("amount_refunded") or 0),
            )
        if event_type == "charge.dispute.created":
            return PaymentUpdate(
                kind="disputed",
                payment_id=_id_of(obj.get("payment_intent")),
                charge_id=_id_of(obj.get("charge")),
                amount=int(obj.get("amount") or 0),
                currency=currency,
                note=f"Dispute {obj.get('id', '')}: {obj.get('reason', 'no reason given')}",
            )
        return None
