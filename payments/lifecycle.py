"""The payment state machine and the invoice statuses.

A payment only moves forward: ``created → processing → succeeded → partially_refunded →
refunded``, with ``failed`` before success (a declined card can still be retried and succeed),
and the side states ``needs_review`` (amount/currency did not match the invoice, or the invoice
was already settled) and ``disputed``. Anything not listed in :data:`TRANSITIONS` is a stale or
out-of-order update and is ignored, so webhooks arriving in any order end in the same state.
"""

from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe (card)"
    PAYPAL = "paypal", "PayPal"
    COUNTER = "counter", "At the shop"


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Created"
    PROCESSING = "processing", "Processing"
    FAILED = "failed", "Failed"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    NEEDS_REVIEW = "needs_review", "Needs review"
    DISPUTED = "disputed", "Disputed"
    CANCELED = "canceled", "Canceled"


P = PaymentStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    P.CREATED: frozenset({P.PROCESSING, P.FAILED, P.SUCCEEDED, P.NEEDS_REVIEW, P.DISPUTED, P.CANCELED}),
    P.PROCESSING: frozenset({P.FAILED, P.SUCCEEDED, P.NEEDS_REVIEW, P.DISPUTED, P.CANCELED}),
    # A declined attempt can be retried on the same PaymentIntent and succeed.
    P.FAILED: frozenset({P.SUCCEEDED, P.NEEDS_REVIEW, P.DISPUTED, P.CANCELED}),
    P.SUCCEEDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED, P.DISPUTED}),
    P.PARTIALLY_REFUNDED: frozenset({P.REFUNDED, P.DISPUTED}),
    P.REFUNDED: frozenset({P.DISPUTED}),
    # Staff settle a payment under review by refunding it (or accepting it as paid).
    P.NEEDS_REVIEW: frozenset({P.SUCCEEDED, P.PARTIALLY_REFUNDED, P.REFUNDED, P.DISPUTED}),
    P.DISPUTED: frozenset(),
    P.CANCELED: frozenset(),
}

#: Statuses in which money has been taken from the customer.
MONEY_TAKEN = frozenset({P.SUCCEEDED, P.PARTIALLY_REFUNDED, P.REFUNDED, P.NEEDS_REVIEW, P.DISPUTED})
#: Statuses in which the payment counts towards the invoice being paid.
SETTLES_INVOICE = frozenset({P.SUCCEEDED, P.PARTIALLY_REFUNDED, P.REFUNDED, P.DISPUTED})
#: Statuses in which a customer may still complete the payment.
OPEN = frozenset({P.CREATED, P.PROCESSING, P.FAILED})
#: Statuses from which staff may refund.
REFUNDABLE = frozenset({P.SUCCEEDED, P.PARTIALLY_REFUNDED, P.NEEDS_REVIEW})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"
    VOID = "void", "Void"


class InvoiceKind(models.TextChoices):
    FINAL = "final", "Repair invoice"
    DEPOSIT = "deposit", "Deposit"


class LineKind(models.TextChoices):
    PART = "part", "Part"
    LABOUR = "labour", "Labour"
    OTHER = "other", "Other"
    DEPOSIT_CREDIT = "deposit_credit", "Deposit already paid"
