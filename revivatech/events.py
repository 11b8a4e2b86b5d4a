"""A small in-process domain event bus.

Services publish one :class:`DomainEvent` per state change, after the transaction commits
(:func:`publish_on_commit`). Apps subscribe in their ``AppConfig.ready()``; a failing
subscriber is logged and never breaks the publisher or the other subscribers. The database
(the ticket's event log) stays the source of truth: the bus only delivers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction

logger = logging.getLogger(__name__)

ALL_EVENTS = "*"


class EventKind(models.TextChoices):
    """Every domain event name: the one list that publishers, subscribers, automation rules and
    the ticket's event log (``repairs.TicketEvent.kind``) all use. Names are never typed by hand
    elsewhere (tests/project/test_event_names.py checks)."""

    BOOKED = "ticket.booked", "Booked"
    DETAILS_UPDATED = "ticket.updated", "Details updated"
    STATUS_CHANGED = "ticket.status_changed", "Status changed"
    MILESTONE_REACHED = "ticket.milestone_reached", "Milestone reached"
    PHOTO_ADDED = "ticket.photo_added", "Photo added"
    QUALITY_CHECKED = "ticket.quality_checked", "Quality check"
    NOTE_ADDED = "ticket.note_added", "Note added"
    QUOTE_SENT = "ticket.quote_sent", "Quote sent"
    QUOTE_DECIDED = "ticket.quote_decided", "Quote decided"
    # Recorded on the ticket's timeline by other apps through repairs' record_ticket_event().
    INVOICE_ISSUED = "ticket.invoice_issued", "Invoice issued"
    PAYMENT_RECEIVED = "ticket.payment_received", "Payment received"
    PAYMENT_FAILED = "ticket.payment_failed", "Payment failed"
    PAYMENT_REFUNDED = "ticket.payment_refunded", "Payment refunded"
    # The customer-facing ready-by estimate (or a technician's promise) changed: repairs/readyby.
    READY_BY_UPDATED = "ticket.ready_by_updated", "Ready-by time updated"


@dataclass(frozen=True)
class DomainEvent:
    name: str
    ticket_id: int | None
    ticket_reference: str | None
    seq: int | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    customer_visible: bool = False
    actor_id: int | None = None
    #: Routing facts for subscribers that are not part of the stored payload
    #: (e.g. which technicians should hear about it).
    context: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event_name: str, handler: Handler) -> None:
    """Register ``handler`` for ``event_name`` (or ``"*"`` for every event). Idempotent."""
    if handler not in _subscribers[event_name]:
        _subscribers[event_name].append(handler)


def unsubscribe(event_name: str, handler: Handler) -> None:
    if handler in _subscribers[event_name]:
        _subscribers[event_name].remove(handler)


def _tag_request_id(event: DomainEvent) -> None:
    """Remember which request (or task) caused the event, for the logs of its deliveries."""
    from revivatech.observability.context import current_request_id

    request_id = current_request_id()
    if request_id:
        event.context.setdefault("request_id", request_id)


def publish(event: DomainEvent) -> None:
    _tag_request_id(event)
    for handler in [*_subscribers[event.name], *_subscribers[ALL_EVENTS]]:
        try:
            handler(event)
        except Exception:  # a subscriber's fault must not undo or block the change
            logger.exception("event subscriber %r failed for %s", handler, event.name)


def publish_on_commit(event: DomainEvent) -> None:
    """Publish once the current transaction commits (immediately outside one)."""
    _tag_request_id(event)
    transaction.on_commit(lambda: publish(event), robust=True)
