"""Every write of the payments app. Views, webhooks, the admin, the API, commands and tasks call
these functions; nothing else changes invoices, payments or refunds."""

from .checkout import (
    PaymentRefused,
    capture_paypal_payment,
    online_payment_allowed,
    start_paypal_payment,
    start_stripe_payment,
    sync_stripe_payment,
)
from .invoices import (
    LineInput,
    create_invoice,
    issue_invoice,
    lines_from_quote,
    record_counter_payment,
    update_draft_invoice,
    void_invoice,
)
from .reconciliation import configured_providers, reconcile_payments, resolve_reconciliation_issues
from .refunds import refund_payment
from .webhooks import WebhookResult, process_event, receive_paypal_webhook, receive_stripe_webhook

__all__ = [
    "LineInput",
    "PaymentRefused",
    "WebhookResult",
    "capture_paypal_payment",
    "configured_providers",
    "create_invoice",
    "issue_invoice",
    "lines_from_quote",
    "online_payment_allowed",
    "process_event",
    "receive_paypal_webhook",
    "receive_stripe_webhook",
    "reconcile_payments",
    "resolve_reconciliation_issues",
    "record_counter_payment",
    "refund_payment",
    "start_paypal_payment",
    "start_stripe_payment",
    "sync_stripe_payment",
    "update_draft_invoice",
    "void_invoice",
]
