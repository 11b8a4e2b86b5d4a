"""Invoices, payments with their status history, refunds, stored provider events and
reconciliation reports. Money is an integer in minor units plus an ISO currency everywhere."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from repairs.models import RepairTicket

from .lifecycle import InvoiceKind, InvoiceStatus, LineKind, PaymentStatus, Provider


def new_public_id() -> str:
    """A random id for URLs and provider metadata (reveals nothing about volume)."""
    return secrets.token_hex(8)


class InvoiceCounter(models.Model):
    """The last invoice number used in a year. Invoice numbers run sequentially because tax
    law asks for it (unlike ticket references, which are random)."""

    year = models.PositiveSmallIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    ticket = models.ForeignKey(RepairTicket, on_delete=models.PROTECT, related_name="invoices")
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    #: Given when the invoice is issued, e.g. ``INV-2026-00042``.
    number = models.CharField(max_length=20, unique=True, null=True, blank=True, editable=False)
    kind = models.CharField(max_length=10, choices=InvoiceKind.choices, default=InvoiceKind.FINAL)
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, editable=False
    )
    currency = models.CharField(max_length=3)
    tax_rate_basis_points = models.PositiveIntegerField(help_text="2000 = 20 %.")
    prices_include_tax = models.BooleanField(default=True)
    subtotal = models.IntegerField(default=0, help_text="Net of tax, in minor units.")
    tax_amount = models.IntegerField(default=0)
    total = models.IntegerField(default=0, help_text="What the customer pays, in minor units.")
    #: Copied from the customer when issued (an invoice names its customer); erased on request.
    billing_name = models.CharField(max_length=120, blank=True)
    billing_email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["ticket", "status"]), models.Index(fields=["status", "issued_at"])]

    def __str__(self) -> str:
        return self.number or f"Draft invoice {self.public_id}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    unit_amount = models.IntegerField(help_text="In minor units; negative only for a deposit credit.")
    amount = models.IntegerField(help_text="quantity × unit amount, in minor units.")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.description


class Payment(models.Model):
    """One attempt to pay an invoice through one provider (a Stripe PaymentIntent, a PayPal
    order, or a payment taken at the counter)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    attempt = models.PositiveIntegerField(default=1)
    #: Sent with every create call, so our own retries never create a second intent or order.
    idempotency_key = models.CharField(max_length=80, unique=True)
    #: The PaymentIntent id (``pi_…``) or the PayPal order id.
    provider_payment_id = models.CharField(max_length=64, null=True, blank=True)
    #: The charge (``ch_…``) or the PayPal capture id, once known.
    provider_charge_id = models.CharField(max_length=64, blank=True)
    client_secret = models.CharField(max_length=255, blank=True, help_text="Stripe.js confirms with it.")
    approve_url = models.URLField(max_length=500, blank=True, help_text="Where PayPal asks the buyer.")
    amount = models.IntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED, editable=False
    )
    amount_received = models.IntegerField(null=True, blank=True)
    amount_refunded = models.IntegerField(default=0)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    review_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"], name="payments_unique_provider_payment_id"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "provider_charge_id"]),
            models.Index(fields=["status", "succeeded_at"]),
            models.Index(fields=["provider", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} payment {self.public_id}"

    @property
    def refundable_amount(self) -> int:
        return max(0, (self.amount_received or 0) - self.amount_refunded)


class PaymentStatusChange(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, choices=PaymentStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=PaymentStatus.choices)
    #: What moved it: ``webhook:stripe:evt_…``, ``return``, ``capture``, ``admin``, ``api``.
    source = models.CharField(max_length=120)
    note = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money given back. Rows made by staff carry the provider's refund id; refunds the
    provider reports that we did not make (e.g. from its dashboard) are recorded too, so the
    succeeded rows always add up to the payment's ``amount_refunded``."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.IntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    provider_refund_id = models.CharField(max_length=64, null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "provider_refund_id"], name="payments_unique_provider_refund_id"
            )
        ]

    def __str__(self) -> str:
        return f"Refund of {self.amount} {self.currency}"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed (will be retried)"


class ProviderEvent(models.Model):
    """A verified webhook event, stored once (unique per provider and event id) before it is
    processed. Duplicates are acknowledged and ignored."""

    provider = models.CharField(max_length=10, choices=Provider.choices)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=80)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    outcome = models.CharField(max_length=300, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_events"
    )
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payments_unique_provider_event"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class ReconciliationRun(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField()
    until = models.DateTimeField()
    providers = models.CharField(max_length=40)
    checked_local = models.PositiveIntegerField(default=0)
    checked_remote = models.PositiveIntegerField(default=0)
    errors = models.TextField(blank=True, help_text="Providers that could not be reached.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M} ({self.providers})"


class MismatchKind(models.TextChoices):
    MISSING_LOCALLY = "missing_locally", "Missing locally"
    MISSING_REMOTELY = "missing_remotely", "Missing at the provider"
    AMOUNT_DIFFERS = "amount_differs", "Amount differs"
    STATUS_DIFFERS = "status_differs", "Status differs"


class ReconciliationIssue(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="issues")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    kind = models.CharField(max_length=20, choices=MismatchKind.choices)
    provider_payment_id = models.CharField(max_length=64, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="reconciliation_issues"
    )
    local_amount = models.IntegerField(null=True, blank=True)
    remote_amount = models.IntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    local_status = models.CharField(max_length=20, blank=True)
    remote_status = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=300)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "provider", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.provider_payment_id}"
