"""Plain-language wording for what customers see: money and timeline events.

Everything here is a pure function over plain data (no database, no request), so the live
tracking client can mirror it in JavaScript. The wording lives in the tables below; the
functions only pick an entry and fill in the payload's values.
"""

from __future__ import annotations

from typing import Any

from revivatech.money import EXPONENTS

from .lifecycle import Status

#: Symbols for the currencies a shop is likely to use; anything else shows its ISO code.
CURRENCY_SYMBOLS: dict[str, str] = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "CAD": "C$"}

#: Minor-unit exponents for display: the project's table, plus currencies a quote may use that
#: invoices do not; anything else is shown with 2 decimals.
CURRENCY_EXPONENTS: dict[str, int] = {**EXPONENTS, "ISK": 0}

#: One sentence per status, for the customer's timeline.
STATUS_SENTENCES: dict[str, str] = {
    Status.BOOKED: "Your repair is booked. Bring your device to the shop when it suits you.",
    Status.RECEIVED: "We have received your device at the workshop.",
    Status.DIAGNOSING: "A technician is diagnosing the problem.",
    Status.AWAITING_APPROVAL: "We need your approval of the quote before we carry on.",
    Status.APPROVED: "The repair is approved and scheduled.",
    Status.AWAITING_PARTS: "We are waiting for parts to arrive.",
    Status.IN_REPAIR: "A technician is repairing your device.",
    Status.QUALITY_CHECK: "The repair is done; we are running our quality checks.",
    Status.READY_FOR_PICKUP: "Your device is ready to collect.",
    Status.COLLECTED: "You have collected your device. Thank you!",
    Status.CANCELLED: "The repair has been cancelled.",
    Status.UNREPAIRABLE: "Unfortunately we cannot repair this device. Please collect it from the shop.",
}

#: Title and detail templates per event kind. ``{name}`` fields come from the payload plus the
#: derived values added by :func:`_event_fields`; a missing field renders as an empty string.
#: A kind maps either to one entry or, when the wording depends on an outcome, to a dict of
#: entries keyed by that outcome (see ``EVENT_VARIANT_FIELDS``).
EVENT_TEXT: dict[str, Any] = {
    "ticket.booked": {
        "title": "Repair booked",
        "detail": "We logged your {device} under reference {reference}.",
    },
    "ticket.updated": {"title": "Details updated", "detail": "We updated the details of your repair."},
    "ticket.status_changed": {"title": "{to_label}", "detail": "{status_sentence}"},
    "ticket.milestone_reached": {
        "title": "{title}",
        "detail": "Progress is now {percent}%.",
    },
    "ticket.photo_added": {"title": "New photo: {category_label}", "detail": "{caption}"},
    "ticket.quality_checked": {
        "passed": {"title": "Quality check passed: {item}", "detail": "{notes}"},
        "failed": {"title": "Quality check failed: {item}", "detail": "{notes}"},
    },
    "ticket.note_added": {"title": "Message from the workshop", "detail": "{text}"},
    "ticket.quote_sent": {
        "title": "Quote ready: {money}",
        "detail": "We quote {money} for the repair. Please approve or decline it.",
    },
    "ticket.quote_decided": {
        "approved": {"title": "Quote approved", "detail": "The quote of {money} was approved."},
        "declined": {
            "title": "Quote declined",
            "detail": "The quote of {money} was declined, so the repair was cancelled.",
        },
    },
    "ticket.invoice_issued": {
        "title": "Invoice ready: {money}",
        "detail": "You can pay online from this page or at the shop.",
    },
    "ticket.payment_received": {"title": "Payment received: {money}", "detail": "Thank you!"},
    "ticket.payment_failed": {
        "title": "Payment did not go through",
        "detail": "Nothing was charged. You can try again or pay at the shop.",
    },
    "ticket.payment_refunded": {"title": "Refund issued: {money}", "detail": "{reason}"},
    "ticket.ready_by_updated": {"title": "{ready_by_headline}", "detail": "{note}"},
}

#: For kinds with variants: the field whose value picks the variant.
EVENT_VARIANT_FIELDS: dict[str, str] = {
    "ticket.quality_checked": "outcome",
    "ticket.quote_decided": "decision",
}

FALLBACK_TEXT = {"title": "Update", "detail": ""}


class _BlankForMissing(dict):
    def __missing__(self, key: str) -> str:
        return ""


def format_money(amount_minor: int | None, currency: str) -> str:
    """``8900, "GBP"`` → ``"£89.00"``; ``123456, "EUR"`` → ``"€1,234.56"``; unknown → ``"89.00 CHF"``."""
    if amount_minor is None:
        return ""
    currency = (currency or "").upper()
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    major = amount_minor / (10**exponent)
    number = f"{major:,.{exponent}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}".strip()


def status_label(status: str) -> str:
    """The customer-facing label of a status value (the raw value if it is unknown)."""
    return Status(status).label if status in Status.values else status


def _event_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload plus the derived values the templates use."""
    fields = _BlankForMissing({key: value for key, value in payload.items() if value is not None})
    to_status = payload.get("to") or ""
    fields["to_label"] = status_label(to_status) if to_status else "Status updated"
    fields["status_sentence"] = STATUS_SENTENCES.get(to_status, "")
    amount = payload.get("amount")
    fields["money"] = format_money(amount, payload.get("currency", "")) if isinstance(amount, int) else ""
    fields["outcome"] = "passed" if payload.get("passed") else "failed"
    snapshot = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else {}
    ready_by = snapshot.get("ready_by") if isinstance(snapshot.get("ready_by"), dict) else {}
    fields["ready_by_headline"] = ready_by.get("headline") or "Ready-by time updated"
    return fields


def describe_event(kind: str, payload: dict[str, Any] | None) -> dict[str, str]:
    """A customer-facing ``{"title": ..., "detail": ...}`` for one timeline event.

    Never raises: unknown kinds and incomplete payloads give a generic but truthful text.
    """
    entry = EVENT_TEXT.get(kind)
    if entry is None:
        return dict(FALLBACK_TEXT)
    fields = _event_fields(payload if isinstance(payload, dict) else {})
    variant_field = EVENT_VARIANT_FIELDS.get(kind)
    if variant_field:
        entry = entry.get(str(fields[variant_field])) or next(iter(entry.values()))
    # A missing value can leave a dangling "Label:"; an empty title falls back to "Update".
    text = {part: entry[part].format_map(fields).strip().rstrip(":") for part in ("title", "detail")}
    text["title"] = text["title"] or FALLBACK_TEXT["title"]
    if kind == "ticket.status_changed" and fields.get("note"):
        text["detail"] = f"{text['detail']} {fields['note']}".strip()
    return text
