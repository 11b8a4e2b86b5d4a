"""The small interface the payment services use, whatever the provider.

Adapters (:mod:`payments.providers.stripe`, :mod:`payments.providers.paypal`) turn the
providers' objects, statuses and errors into these plain values, in our vocabulary
(:class:`payments.lifecycle.PaymentStatus`, integers in minor units, upper-case ISO currencies).
No SDK type ever leaves an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from revivatech.money import EXPONENTS

#: Currencies offered through each provider (our exponent table ∩ what the provider takes).
STRIPE_CURRENCIES = frozenset(EXPONENTS)
#: PayPal's currencies that our table knows. HUF and TWD, which PayPal takes only in whole
#: units, are not offered.
PAYPAL_CURRENCIES = frozenset(EXPONENTS) & frozenset(
    {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "JPY", "NOK", "NZD", "PLN", "SEK", "SGD", "USD"}
)


class ProviderError(Exception):
    """A provider refused a request or could not be reached.

    ``message`` is written for people (staff in the admin, customers on the pay page) and never
    contains secrets; ``code`` is the provider's machine code when it gave one.
    """

    retryable = False

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class ProviderUnavailable(ProviderError):
    """Network failure, time-out, rate limit or a 5xx that outlasted the SDK's retries."""

    retryable = True


class PaymentDeclined(ProviderError):
    """The customer's card or PayPal funding source was declined."""


class NotFoundAtProvider(ProviderError):
    """The provider does not know the object (404)."""


class WebhookVerificationError(Exception):
    """The webhook's signature, timestamp or body is not valid: answer 400, change nothing."""


class WebhookVerificationUnavailable(Exception):
    """The signature could not be checked right now (not configured, provider unreachable):
    answer 503 so the provider delivers the event again later."""


@dataclass(frozen=True)
class RemotePayment:
    """A provider's view of one payment (a PaymentIntent, a PayPal order or capture)."""

    provider: str
    #: PaymentIntent id or PayPal order id ("" when only the capture is known).
    payment_id: str
    status: str
    amount: int
    currency: str
    amount_received: int | None = None
    amount_refunded: int = 0
    #: Charge id or PayPal capture id.
    charge_id: str = ""
    client_secret: str = ""
    approve_url: str = ""
    failure_code: str = ""
    failure_message: str = ""
    created: datetime | None = None
    #: Our payment's public id, read back from the provider's metadata / custom_id.
    reference: str = ""


@dataclass(frozen=True)
class RemoteRefund:
    refund_id: str
    amount: int
    currency: str
    #: "succeeded", "pending" or "failed".
    status: str
    #: Everything refunded on the charge/capture so far, when the provider says.
    refunded_total: int | None = None


@dataclass(frozen=True)
class PaymentUpdate:
    """What one provider event says about one payment, in our vocabulary."""

    #: "succeeded", "processing", "failed", "canceled", "refunded" or "disputed".
    kind: str
    payment_id: str = ""
    charge_id: str = ""
    #: Amount actually received (a success, or the charge behind a refund).
    amount: int | None = None
    currency: str = ""
    refunded_total: int | None = None
    refund_id: str = ""
    refund_amount: int | None = None
    failure_code: str = ""
    failure_message: str = ""
    reference: str = ""
    note: str = ""


@dataclass(frozen=True)
class VerifiedEvent:
    provider: str
    event_id: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)
    #: None for event types we do not act on (stored and acknowledged all the same).
    update: PaymentUpdate | None = None
