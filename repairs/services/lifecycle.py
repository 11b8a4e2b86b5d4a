"""The lifecycle: status transitions and quotes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revivatech import money

from ..lifecycle import STATUS_PROGRESS, Status, allowed_transitions, can_transition
from ..models import (
    EventKind,
    QuoteDecision,
    RepairTicket,
    StatusChange,
)
from ._common import TransitionError, _actor, _lock, _record_event, retry_on_deadlock
from .contact import confirm_contact

MAX_QUOTE_MINOR_UNITS = 100_000_000  # a million in major units: far above any repair
#: Statuses in which a quote may be sent or replaced.
QUOTABLE_STATUSES = frozenset({Status.RECEIVED, Status.DIAGNOSING, Status.AWAITING_APPROVAL})


# --- lifecycle ---------------------------------------------------------------------------------


def _write_previous_release_history(locked: RepairTicket, to_status: str, *, by, note: str) -> None:
    """Expand/contract: the event log is the status history, but the release before this one reads
    ``StatusChange`` while both run during a rolling deploy (and again after a rollback), so the move
    is written there too until the release that drops the table (docs/architecture.md)."""
    StatusChange.objects.create(
        ticket=locked, from_status=locked.status, to_status=to_status, changed_by=_actor(by), note=note
    )


def _apply_transition(locked: RepairTicket, to_status: str, *, by=None, note: str = "") -> None:
    """Check the move and apply it to the locked ticket; the caller records it as an event (the
    status history is the event log: repairs.selectors.status_history)."""
    if to_status not in Status.values:
        raise TransitionError({"status": f"Unknown status {to_status!r}."})
    if not can_transition(locked.status, to_status):
        allowed = ", ".join(allowed_transitions(locked.status)) or "none (the ticket is closed)"
        raise TransitionError(
            {
                "status": f"Cannot move a ticket from {Status(locked.status).label!r} to "
                f"{Status(to_status).label!r}. Allowed next: {allowed}."
            }
        )
    if to_status == Status.AWAITING_APPROVAL and locked.quote_amount is None:
        raise TransitionError({"status": "Send a quote before asking the customer for approval."})
    _write_previous_release_history(locked, to_status, by=by, note=note)
    locked.status = to_status
    if to_status in STATUS_PROGRESS:
        locked.progress_percent = max(locked.progress_percent, STATUS_PROGRESS[to_status])


@retry_on_deadlock
@transaction.atomic
def transition_ticket(ticket: RepairTicket, to_status: str, *, by=None, note: str = "") -> RepairTicket:
    """Move a ticket to ``to_status`` if the lifecycle allows it; otherwise raise TransitionError."""
    locked = _lock(ticket)
    from_status = locked.status
    if to_status == Status.APPROVED and locked.quote_decision == QuoteDecision.PENDING:
        # The shop records an approval given in person or by phone.
        locked.quote_decision = QuoteDecision.APPROVED
        locked.quote_decided_at = timezone.now()
    _apply_transition(locked, to_status, by=by, note=note.strip())
    locked.save()
    if to_status == Status.RECEIVED:
        # The customer brought the device in: the shop has checked the details with them.
        confirm_contact(locked.customer)
    _record_event(
        locked,
        EventKind.STATUS_CHANGED,
        {"from": from_status, "to": to_status, "note": note.strip()},
        customer_visible=True,
        actor=_actor(by),
    )
    return locked


@transaction.atomic
def send_quote(ticket: RepairTicket, *, amount: int, currency: str | None = None, by=None) -> RepairTicket:
    """Set or replace the quote (minor units); the customer decides while awaiting approval."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_QUOTE_MINOR_UNITS:
        raise ValidationError(
            {"quote_amount": "The quote must be a whole amount in minor units, from 0 to 100000000."}
        )
    try:
        currency = money.normalise_currency(currency or settings.SHOP_CURRENCY)
    except money.MoneyError as error:  # any three letters were accepted before: now only known ones
        raise ValidationError({"quote_currency": str(error)}) from error
    locked = _lock(ticket)
    if locked.status not in QUOTABLE_STATUSES:
        raise ValidationError(
            {
                "quote_amount": "A quote can only be sent while the repair is received, "
                "being diagnosed or awaiting approval."
            }
        )
    locked.quote_amount = amount
    locked.quote_currency = currency
    locked.quote_decision = QuoteDecision.PENDING
    locked.quote_decided_at = None
    locked.save()
    _record_event(
        locked,
        EventKind.QUOTE_SENT,
        {"amount": amount, "currency": currency},
        customer_visible=True,
        actor=_actor(by),
    )
    return locked


@transaction.atomic
def decide_quote(ticket: RepairTicket, *, approved: bool, by=None, note: str = "") -> RepairTicket:
    """The customer approves (work goes ahead) or declines (the repair is cancelled) the quote."""
    locked = _lock(ticket)
    if locked.status != Status.AWAITING_APPROVAL:
        raise TransitionError({"status": "There is no quote waiting for a decision on this repair."})
    from_status = locked.status
    locked.quote_decision = QuoteDecision.APPROVED if approved else QuoteDecision.DECLINED
    locked.quote_decided_at = timezone.now()
    to_status = Status.APPROVED if approved else Status.CANCELLED
    note = note.strip() or (
        "Quote approved by the customer." if approved else "Quote declined by the customer."
    )
    _apply_transition(locked, to_status, by=by, note=note)
    locked.save()
    _record_event(
        locked,
        EventKind.QUOTE_DECIDED,
        {
            "from": from_status,
            "to": to_status,
            "decision": locked.quote_decision,
            "amount": locked.quote_amount,
            "currency": locked.quote_currency,
            "note": note,
        },
        customer_visible=True,
        actor=_actor(by),
    )
    return locked


@transaction.atomic
def reopen_declined_quote(ticket: RepairTicket, *, by=None, note: str = "") -> RepairTicket:
    """Undo a customer's decline (they changed their mind, or tapped by mistake): the cancelled
    repair goes back to awaiting approval with the same quote, logged as a status change.

    Only staff do this (the admin action); the lifecycle has no way back from "cancelled"
    otherwise, so this is the one audited exception."""
    locked = _lock(ticket)
    if locked.status != Status.CANCELLED or locked.quote_decision != QuoteDecision.DECLINED:
        raise TransitionError({"status": "Only a repair cancelled by declining its quote can be reopened."})
    note = note.strip() or "Quote reopened by the shop: the customer can decide again."
    _write_previous_release_history(locked, Status.AWAITING_APPROVAL, by=by, note=note)
    locked.status = Status.AWAITING_APPROVAL
    locked.progress_percent = STATUS_PROGRESS.get(Status.AWAITING_APPROVAL, locked.progress_percent)
    locked.quote_decision = QuoteDecision.PENDING
    locked.quote_decided_at = None
    locked.save()
    _record_event(
        locked,
        EventKind.STATUS_CHANGED,
        {"from": Status.CANCELLED, "to": Status.AWAITING_APPROVAL, "note": note, "reopened": True},
        customer_visible=True,
        actor=_actor(by),
    )
    return locked
