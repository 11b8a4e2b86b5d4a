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

from django.db import transaction

logger = logging.getLogger(__name__)

ALL_EVENTS = "*"


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
