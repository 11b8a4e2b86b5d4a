"""Automation: domain events from the repair (and payment) services become notifications, through
the rules staff enable in the admin ("status changed to X → template → channels").

The bus calls :func:`handle_domain_event` after the change committed, in the committing thread:
it only reads the ticket, renders and writes outbox rows (sending happens in the workers), and it
never raises into the caller. The idempotency key (rule, ticket, event sequence number) makes a
second delivery of the same event a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from revivatech.events import DomainEvent, EventKind, subscribe

from .. import selectors
from ..models import EVENT_CHOICES, Dispatch, MessageTemplate
from .context import message_context
from .dispatch import notify

logger = logging.getLogger(__name__)

AUTOMATED_EVENTS = [name for name, _label in EVENT_CHOICES]


def run_rules(event: DomainEvent) -> list[Dispatch]:
    """Write the outbox rows every enabled rule asks for; returns the dispatches."""
    if not event.customer_visible or event.ticket_id is None:
        return []  # internal events (and notes not meant for the customer) never reach customers
    to_status = str(event.payload.get("to", "")) if event.name == EventKind.STATUS_CHANGED else ""
    rules = selectors.rules_for_event(event.name, to_status)
    if not rules:
        return []
    ticket = selectors.ticket_for_notifications(event.ticket_id)
    if ticket is None:
        return []
    customer = ticket.customer
    if customer.is_demo:
        return []  # the staff realtime demo's made-up customer is never messaged
    context = message_context(customer, ticket=ticket, event_name=event.name, payload=event.payload)
    snapshot = event.payload.get("ticket") or {}
    context["ticket"].update(
        {key: snapshot[key] for key in ("status", "status_label", "progress_percent") if key in snapshot}
    )
    dispatches = []
    for rule in rules:
        dispatches.append(
            notify(
                customer=customer,
                template=rule.template,
                key=f"rule:{rule.pk}:ticket:{ticket.pk}:seq:{event.seq}",
                context=context,
                mode=rule.mode,
                channels=rule.channels,
                priority=rule.priority,
                ticket=ticket,
                rule=rule,
                event_name=event.name,
            )
        )
    return dispatches


def handle_domain_event(event: DomainEvent) -> None:
    """Bus subscriber: quick, and never raises into the service that published the event."""
    try:
        run_rules(event)
    except Exception:
        logger.exception(
            "notification rules failed for %s #%s of ticket %s", event.name, event.seq, event.ticket_id
        )


def connect() -> None:
    for name in AUTOMATED_EVENTS:
        subscribe(name, handle_domain_event)


def send_campaign(template: MessageTemplate, customers: Iterable, *, campaign: str) -> list[Dispatch]:
    """A marketing (or any) message to many customers, once per customer and campaign name.
    Preferences apply: customers who did not opt in get a skipped row, not a message."""
    dispatches = []
    for customer in customers:
        if customer.is_demo:
            continue
        dispatches.append(
            notify(
                customer=customer,
                template=template,
                key=f"campaign:{campaign}:{template.key}:customer:{customer.pk}",
                context=message_context(customer),
                channels=["email"],
                mode="chosen",
            )
        )
    return dispatches
