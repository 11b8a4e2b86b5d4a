"""Shared plumbing of the repair services: row locks, the event log, small validators."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction

from revivatech.events import DomainEvent, publish_on_commit
from revivatech.roles import acting_user

from ..lifecycle import Status
from ..models import (
    RepairTicket,
    TicketEvent,
)

logger = logging.getLogger(__name__)


class TransitionError(ValidationError):
    """A status change the lifecycle does not allow."""


#: PostgreSQL's "deadlock detected" and "could not serialize": the transaction was chosen as the
#: victim of a lock cycle and rolled back whole, so running it again is safe.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def retry_on_deadlock(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a service's transaction again (up to three times) when PostgreSQL aborts it to break a
    lock cycle between concurrent changes; never inside an outer transaction, which is aborted too."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(3):
            try:
                return func(*args, **kwargs)
            except OperationalError as error:
                sqlstate = getattr(error.__cause__, "sqlstate", None)
                if sqlstate not in _RETRYABLE_SQLSTATES or connection.in_atomic_block or attempt == 2:
                    raise
                logger.warning("%s: %s, trying again", func.__name__, sqlstate)
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def _lock(ticket: RepairTicket) -> RepairTicket:
    """Re-read the ticket with a row lock, so status checks and sequence numbers never race."""
    return RepairTicket.objects.select_for_update().select_related("customer", "device").get(pk=ticket.pk)


def _status_snapshot(ticket: RepairTicket) -> dict[str, Any]:
    return {
        "status": ticket.status,
        "status_label": Status(ticket.status).label,
        "progress_percent": ticket.progress_percent,
    }


def _record_event(
    ticket: RepairTicket,
    kind: str,
    payload: dict[str, Any],
    *,
    customer_visible: bool,
    actor=None,
    previous_technician_id: int | None = None,
) -> TicketEvent:
    """Append the ticket's next event and publish it after commit. Call with the row locked."""
    ticket.last_event_seq += 1
    RepairTicket.objects.filter(pk=ticket.pk).update(last_event_seq=ticket.last_event_seq)
    full_payload = {**payload, "ticket": _status_snapshot(ticket)}
    from ..readyby.services import snapshot_for_event  # the estimate rides along with every event

    full_payload["ticket"].update(snapshot_for_event(ticket, kind))
    event = TicketEvent.objects.create(
        ticket=ticket,
        seq=ticket.last_event_seq,
        kind=kind,
        payload=full_payload,
        customer_visible=customer_visible,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    publish_on_commit(
        DomainEvent(
            name=kind,
            ticket_id=ticket.pk,
            ticket_reference=ticket.reference,
            seq=event.seq,
            occurred_at=event.created_at,
            payload=full_payload,
            customer_visible=customer_visible,
            actor_id=event.actor_id,
            context={
                "assigned_technician_id": ticket.assigned_technician_id,
                "previous_technician_id": previous_technician_id,
            },
        )
    )
    return event


#: The name repairs' services use for the kernel's acting-user rule.
_actor = acting_user


def _require_text(value: str, field: str, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: "This field is required."})
    if max_length and len(value) > max_length:
        raise ValidationError({field: f"Ensure this field has at most {max_length} characters."})
    return value


def _enqueue_after_commit(task_name: str, *args: Any) -> None:
    """Queue a Celery task by name once the transaction commits. Work queued this way is always
    recoverable from the database, so a broker outage is logged, not raised."""

    def send() -> None:
        from revivatech.celery import app

        try:
            app.tasks[task_name].apply_async(args=args)
        except Exception:
            logger.warning("could not queue %s%r; it will be done on demand", task_name, args, exc_info=True)

    transaction.on_commit(send)
