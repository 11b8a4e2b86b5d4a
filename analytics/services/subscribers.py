"""Reactions to the rest of the site: domain events (bookings, quote decisions, payments) become
server-side analytics events, and logins and bookings link the browser's visitor to the customer.

Handlers run after commit in the committing thread: they are quick (a lookup and one buffer
append) and never raise into the caller.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from revivatech.events import DomainEvent, EventKind

from .. import selectors
from ..models import EventType, LinkSource
from .identity import browser_request_identity, identity_from_request, link_identity
from .ingestion import record_server_event

logger = logging.getLogger(__name__)

#: Domain events that analytics records, and as which event type.
RECORDED = {
    EventKind.BOOKED: EventType.BOOKING_COMPLETED,
    EventKind.PAYMENT_RECEIVED: EventType.PAYMENT_SUCCEEDED,
    EventKind.PAYMENT_FAILED: EventType.PAYMENT_FAILED,
}


def _event_type(event: DomainEvent) -> EventType | None:
    if event.name == EventKind.QUOTE_DECIDED:
        decision = event.payload.get("decision")
        return {"approved": EventType.QUOTE_APPROVED, "declined": EventType.QUOTE_DECLINED}.get(decision)
    return RECORDED.get(event.name)


def on_domain_event(event: DomainEvent) -> None:
    """Record the event for the ticket's customer; on a booking, link the booking browser."""
    try:
        event_type = _event_type(event)
        if event_type is None or event.ticket_id is None:
            return
        customer_id = selectors.customer_id_for_ticket(event.ticket_id)
        identity = browser_request_identity(customer_id)
        if identity is not None and customer_id is not None and event.name == EventKind.BOOKED:
            link_identity(identity, customer_id, LinkSource.BOOKING)
        props = {"ticket": event.ticket_reference}
        for key in ("amount", "currency", "provider"):
            if key in event.payload:
                props[key] = event.payload[key]
        record_server_event(
            event_type,
            customer_id=customer_id,
            occurred_at=event.occurred_at or timezone.now(),
            props=props,
            identity=identity,
        )
    except Exception:  # analytics must never break a booking or a payment
        logger.exception("analytics: could not record %s for ticket %s", event.name, event.ticket_id)


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    """A customer logged in: this browser (today's visitor key, consented device) is theirs."""
    try:
        customer = getattr(user, "customer", None)
        if customer is None or request is None or not hasattr(request, "META"):
            return
        link_identity(identity_from_request(request), customer.pk, LinkSource.LOGIN)
    except Exception:
        logger.exception("analytics: could not link the visitor of user %s", getattr(user, "pk", None))
