"""Writes of the ready-by prediction: store a ticket's estimate with each change, promises, training."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import EventKind, RepairTicket
from .models import ReadyByEstimate, ReadyByModel
from .predict import ESTIMATED_STATUSES, compute_estimate
from .selectors import present

logger = logging.getLogger(__name__)

#: Events after which the estimate is computed again (the rest reuse the current one, so a photo or a
#: note never moves the customer's date).
RECOMPUTE_KINDS = frozenset(
    {
        EventKind.BOOKED,
        EventKind.STATUS_CHANGED,
        EventKind.DETAILS_UPDATED,
        EventKind.QUOTE_SENT,
        EventKind.QUOTE_DECIDED,
    }
)
MAX_PROMISE_DAYS = 365


def store_estimate(ticket: RepairTicket, now: datetime | None = None) -> ReadyByEstimate | None:
    """Compute and store the ticket's estimate as its current one (None once it is ready or closed)."""
    estimate = compute_estimate(ticket, now)
    ReadyByEstimate.objects.filter(ticket=ticket, current=True).update(current=False)
    if estimate is not None:
        estimate.save()
    return estimate


def snapshot_for_event(ticket: RepairTicket, kind: str) -> dict:
    """``{"ready_by": <the customer's ready-by or None>}`` for an event's ticket snapshot (stored with
    the event and sent live).

    Called by ``_record_event`` with the ticket locked, inside its transaction; a failure is logged and
    leaves the snapshot without the key rather than failing the change (savepoint)."""
    try:
        with transaction.atomic():
            if kind in RECOMPUTE_KINDS or ticket.status not in ESTIMATED_STATUSES:
                estimate = store_estimate(ticket)
            else:
                estimate = ticket.ready_by_estimates.filter(current=True).first() or store_estimate(ticket)
            return {"ready_by": present(ticket, estimate)}
    except Exception:
        logger.exception("ready-by estimate failed for ticket %s", ticket.pk)
        return {}


@transaction.atomic
def promise_ready_by(
    ticket: RepairTicket, promised_at: datetime | None, *, by=None, note: str = ""
) -> RepairTicket:
    """A technician promises the customer a ready-by time (None withdraws the promise). Shown to the
    customer instead of the estimate, and on the timeline."""
    from ..services._common import _actor, _lock, _record_event

    now = timezone.now()
    if promised_at is not None:
        if timezone.is_naive(promised_at):
            raise ValidationError({"promised_ready_at": "Give the time with its time zone."})
        if promised_at <= now:
            raise ValidationError({"promised_ready_at": "A promise must be in the future."})
        if promised_at > now + timedelta(days=MAX_PROMISE_DAYS):
            raise ValidationError({"promised_ready_at": "A promise must be within a year."})
    locked = _lock(ticket)
    if locked.status not in ESTIMATED_STATUSES:
        raise ValidationError({"promised_ready_at": "Only an open repair can be given a promised time."})
    if locked.promised_ready_at == promised_at:
        return locked
    locked.promised_ready_at = promised_at
    locked.save(update_fields=["promised_ready_at", "updated_at"])
    _record_event(
        locked,
        EventKind.READY_BY_UPDATED,
        {"promised_at": promised_at.isoformat() if promised_at else None, "note": (note or "").strip()},
        customer_visible=True,
        actor=_actor(by),
    )
    return locked


def train_model(now: datetime | None = None) -> ReadyByModel:
    from .training import train_model as train

    return train(now)
