"""Plain-language wording for what customers see: money and timeline events.

Everything here is a pure function over plain data (no database, no request), so the live
tracking client can mirror it in JavaScript. The wording lives in the tables below; the
functions only pick an entry and fill in the payload's values.
"""

from __future__ import annotations

import re
from typing import Any

from revivatech.events import EventKind
from revivatech.money import format_money

from .lifecycle import Status

#: One sentence per status, for the customer's timeline.
STATUS_SENTENCES: dict[str, str] = {
    Status.BOOKED: "Your repair is booked. Bring your device to the shop during opening hours.",
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
    EventKind.BOOKED: {
        "title": "Repair booked",
        "detail": "We logged your {device} under reference {reference}.",
    },
    EventKind.DETAILS_UPDATED: {
        "title": "Details updated",
        "detail": "We updated the details of your repair.",
    },
    EventKind.STATUS_CHANGED: {"title": "{to_label}", "detail": "{status_sentence}"},
    EventKind.MILESTONE_REACHED: {
        "title": "{title}",
        "detail": "Progress is now {percent}%.",
    },
    EventKind.PHOTO_ADDED: {"title": "New photo: {category_label}", "detail": "{caption}"},
    EventKind.QUALITY_CHECKED: {
        "passed": {"title": "Quality check passed: {item}", "detail": "{notes}"},
        "failed": {"title": "Quality check failed: {item}", "detail": "{notes}"},
    },
    EventKind.NOTE_ADDED: {"title": "Message from the workshop", "detail": "{text}"},
    EventKind.QUOTE_SENT: {
        "title": "Quote ready: {money}",
        "detail": "We quote {money} for the repair. Please approve or decline it.",
    },
    EventKind.QUOTE_DECIDED: {
        "approved": {"title": "Quote approved", "detail": "The quote of {money} was approved."},
        "declined": {
            "title": "Quote declined",
            "detail": "The quote of {money} was declined, so the repair was cancelled.",
        },
    },
    EventKind.INVOICE_ISSUED: {
        "title": "Invoice ready: {money}",
        "detail": "You can pay online from this page or at the shop.",
    },
    EventKind.PAYMENT_RECEIVED: {"title": "Payment received: {money}", "detail": "Thank you!"},
    EventKind.PAYMENT_FAILED: {
        "title": "Payment did not go through",
        "detail": "Nothing was charged. You can try again or pay at the shop.",
    },
    EventKind.PAYMENT_REFUNDED: {"title": "Refund issued: {money}", "detail": "{reason}"},
    EventKind.READY_BY_UPDATED: {"title": "{ready_by_headline}", "detail": "{note}"},
}

#: Payload keys a customer may see, per event kind; anything else stays internal (a kind missing
#: here shows the customer nothing but the status snapshot). The ONE allow-list: the event-log API,
#: the sockets and the tracking page all present events through :func:`event_payload`.
CUSTOMER_PAYLOAD_KEYS: dict[str, tuple[str, ...]] = {
    EventKind.BOOKED: ("reference", "device"),
    EventKind.STATUS_CHANGED: ("from", "to", "note"),
    EventKind.MILESTONE_REACHED: ("milestone_id", "title", "percent"),
    EventKind.PHOTO_ADDED: ("photo_id", "category", "category_label", "caption", "width", "height"),
    EventKind.QUALITY_CHECKED: ("check_id", "item", "passed", "notes"),
    EventKind.NOTE_ADDED: ("note_id", "text", "priority"),
    EventKind.QUOTE_SENT: ("amount", "currency"),
    EventKind.QUOTE_DECIDED: ("from", "to", "decision", "amount", "currency", "note"),
    EventKind.INVOICE_ISSUED: ("invoice_id", "amount", "currency"),
    EventKind.PAYMENT_RECEIVED: ("invoice_id", "amount", "currency", "provider"),
    EventKind.PAYMENT_FAILED: ("invoice_id", "amount", "currency", "provider"),
    EventKind.PAYMENT_REFUNDED: ("invoice_id", "amount", "currency", "provider", "reason"),
    EventKind.READY_BY_UPDATED: ("promised_at", "note"),
}
#: What a customer sees of the status snapshot every event carries (``ready_by`` is built for
#: customers by repairs.readyby.selectors.present: wording and times only).
CUSTOMER_SNAPSHOT_KEYS = ("status", "status_label", "progress_percent", "ready_by")


def event_payload(kind: str, payload: dict[str, Any] | None, *, customer_view: bool) -> dict[str, Any]:
    """An event's payload as its viewer may see it: the shop all of it, a customer only the
    allow-listed keys of its kind and the status snapshot."""
    payload = payload if isinstance(payload, dict) else {}
    if not customer_view:
        return payload
    safe = {key: payload[key] for key in CUSTOMER_PAYLOAD_KEYS.get(kind, ()) if key in payload}
    ticket = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else {}
    safe["ticket"] = {key: ticket[key] for key in CUSTOMER_SNAPSHOT_KEYS if key in ticket}
    if "status" in ticket:  # the line under the status chip, as the page renders it on a reload
        safe["ticket"]["status_sentence"] = STATUS_SENTENCES.get(ticket["status"], "")
    return safe


#: For kinds with variants: the field whose value picks the variant.
EVENT_VARIANT_FIELDS: dict[str, str] = {
    EventKind.QUALITY_CHECKED: "outcome",
    EventKind.QUOTE_DECIDED: "decision",
}

FALLBACK_TEXT = {"title": "Update", "detail": ""}


class _BlankForMissing(dict):
    def __missing__(self, key: str) -> str:
        return ""


#: Longest name put into a message (names in booking forms are typed by anyone).
MESSAGE_NAME_MAX_LENGTH = 40
_LINK_LIKE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:/*\S*)"  # scheme:… (http://, mailto:, javascript:)
    r"|(?:www\.\S*)"
    r"|(?:\S*@\S*)"  # an email address
    r"|(?:\S+\.(?:[a-z]{2,24})(?:[/:?#]\S*)?(?=\s|$))",  # something.tld, evil.co.uk/path
    re.IGNORECASE,
)
_NOT_NAME_CHARS = re.compile(r"[^\w\s'’.\-]", re.UNICODE)


def plain_name(name: str, max_length: int = MESSAGE_NAME_MAX_LENGTH) -> str:
    """A name as short plain text for messages: nothing that looks like a link, an address or
    markup (a stranger's "name" must not turn the shop's messages into phishing), digits runs
    dropped (no phone numbers to call), at most ``max_length`` characters."""
    text = re.sub(r"<[^>]*>?", " ", name or "")  # markup, whole tags
    text = _LINK_LIKE.sub(" ", text)
    text = _NOT_NAME_CHARS.sub(" ", text)
    text = re.sub(r"\d{3,}", " ", text)
    text = " ".join(text.split())
    if len(text) > max_length:
        text = text[:max_length].rsplit(" ", 1)[0] if " " in text[:max_length] else text[:max_length]
    return text.strip(" .-'’")


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
    if kind == EventKind.STATUS_CHANGED and fields.get("note"):
        text["detail"] = f"{text['detail']} {fields['note']}".strip()
    return text
