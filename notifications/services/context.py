"""The data a template sees: plain dicts of strings and numbers (never model instances), stored on
each message so it can be previewed, audited and rendered again later."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from repairs.models import Customer, RepairTicket
from repairs.presenters import STATUS_SENTENCES, describe_event, plain_name, status_label
from repairs.readyby.selectors import customer_ready_by
from repairs.shop import shop_context
from revivatech.events import EventKind
from revivatech.money import format_money

from . import preferences


def preferences_url(customer: Customer | None = None) -> str:
    """The customer's own signed link to their choices (no login needed: most customers book as
    guests); without a customer, the logged-in page."""
    if customer is None or customer.pk is None:
        return settings.NOTIFICATIONS_PUBLIC_URL + reverse("notifications-preferences")
    token = preferences.preferences_token(customer)
    return settings.NOTIFICATIONS_PUBLIC_URL + reverse("notifications-preferences-link", args=[token])


def base_context() -> dict[str, Any]:
    shop = shop_context()
    return {
        "shop_name": shop["name"],
        "shop": shop,
        "site_url": settings.SITE_URL,
        "preferences_url": preferences_url(),
    }


def customer_context(customer: Customer) -> dict[str, Any]:
    # Short plain text, never a link: the name may have been typed by a stranger.
    name = plain_name(customer.name)
    return {"name": name, "first_name": name.split()[0] if name else "there"}


def ticket_context(ticket: RepairTicket) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "status": ticket.status,
        "status_label": status_label(ticket.status),
        "status_sentence": STATUS_SENTENCES.get(ticket.status, ""),
        "progress_percent": ticket.progress_percent,
        "device": f"{ticket.device.brand} {ticket.device.model}".strip(),
        "tracking_url": ticket.tracking_url,
        "quote": format_money(ticket.quote_amount, ticket.quote_currency),
        # {"headline", "detail", "note", …} worded for the customer, or None once ready or closed.
        "ready_by": customer_ready_by(ticket),
    }


def event_context(event_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The event's own facts (without the ticket snapshot) plus readable money and wording."""
    facts = {key: value for key, value in payload.items() if key != "ticket"}
    amount = payload.get("amount")
    if isinstance(amount, int):
        facts["money"] = format_money(amount, str(payload.get("currency", "")))
    if payload.get("to"):
        facts["to_label"] = status_label(str(payload["to"]))
        facts["status_sentence"] = STATUS_SENTENCES.get(str(payload["to"]), "")
    facts["display"] = describe_event(event_name, payload)
    facts["name"] = event_name
    return facts


def message_context(
    customer: Customer,
    *,
    ticket: RepairTicket | None = None,
    event_name: str = "",
    payload: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    context = base_context()
    context["customer"] = customer_context(customer)
    context["preferences_url"] = preferences_url(customer)
    if ticket is not None:
        context["ticket"] = ticket_context(ticket)
    if event_name:
        context["event"] = event_context(event_name, payload or {})
    context.update(extra or {})
    return context


def sample_context() -> dict[str, Any]:
    """Made-up data for template previews in the admin."""
    context = base_context()
    context["customer"] = {"name": "Casey Jones", "first_name": "Casey"}
    context["ticket"] = {
        "reference": "RT-7K3Q9X",
        "status": "ready_for_pickup",
        "status_label": status_label("ready_for_pickup"),
        "status_sentence": STATUS_SENTENCES.get("ready_for_pickup", ""),
        "progress_percent": 100,
        "device": "Lenovo ThinkPad X1 Carbon",
        "tracking_url": f"{settings.SITE_URL}/track/example-token/",
        "quote": format_money(8900, settings.SHOP_CURRENCY),
        "ready_by": {
            "state": "estimate",
            "headline": "Ready by Thursday afternoon",
            "detail": "Most likely between Wednesday 3 pm and Friday noon.",
            "note": "",
        },
    }
    payload = {
        "from": "quality_check",
        "to": "ready_for_pickup",
        "note": "Battery replaced and tested.",
        "amount": 8900,
        "currency": settings.SHOP_CURRENCY,
        "caption": "New battery fitted",
        "category_label": "Repair",
        "title": "Parts arrived",
        "percent": 60,
        "text": "We found a loose connector as well and fixed it free of charge.",
        "provider": "stripe",
        "invoice_id": 42,
    }
    context["event"] = event_context(EventKind.STATUS_CHANGED, payload)
    context["unsubscribe_url"] = f"{settings.NOTIFICATIONS_PUBLIC_URL}/notifications/unsubscribe/example/"
    context["preferences_url"] = f"{settings.NOTIFICATIONS_PUBLIC_URL}/notifications/preferences/example/"
    return context
