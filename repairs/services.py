"""Every write to the repair domain.

Each service validates, saves in one transaction, appends one :class:`TicketEvent` with the
ticket's next sequence number, and publishes one domain event after commit. Nothing else
changes a ticket's state: the admin, the API, pages and commands all call these functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from revivatech.events import DomainEvent, publish_on_commit

from . import photos
from .lifecycle import STATUS_PROGRESS, Status, allowed_transitions, can_transition
from .models import (
    Customer,
    Device,
    EventKind,
    Milestone,
    Note,
    NotePriority,
    Photo,
    PhotoCategory,
    Priority,
    QualityCheck,
    QuoteDecision,
    RepairTicket,
    StatusChange,
    TicketEvent,
)
from .roles import ROLE_CUSTOMER, is_technician, role_of

logger = logging.getLogger(__name__)

MAX_QUOTE_MINOR_UNITS = 100_000_000  # a million in major units: far above any repair
#: Statuses in which a quote may be sent or replaced.
QUOTABLE_STATUSES = frozenset({Status.RECEIVED, Status.DIAGNOSING, Status.AWAITING_APPROVAL})
CLOSED_STATES = {Status.COLLECTED, Status.CANCELLED, Status.UNREPAIRABLE}


class TransitionError(ValidationError):
    """A status change the lifecycle does not allow."""


@dataclass(frozen=True)
class CustomerDetails:
    name: str
    email: str
    phone: str = ""
    preferred_contact: str = "email"


@dataclass(frozen=True)
class DeviceDetails:
    kind: str
    brand: str
    model: str
    serial_number: str = ""
    condition_on_intake: str = ""
    accessories: str = ""


# --- internals -----------------------------------------------------------------------------


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


def _actor(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _require_text(value: str, field: str, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: "This field is required."})
    if max_length and len(value) > max_length:
        raise ValidationError({field: f"Ensure this field has at most {max_length} characters."})
    return value


# --- booking and ticket details ----------------------------------------------------------------


def _customer_for_booking(details: CustomerDetails, user) -> Customer:
    # Staff and technicians booking at the counter book for a walk-in, never for themselves.
    if user is not None and role_of(user) == ROLE_CUSTOMER:
        customer = Customer.objects.filter(user=user).first()
        if customer:
            return customer
        return _create_customer(details, user=user)
    # Anonymous bookings reuse an existing login-less customer with the same email.
    existing = Customer.objects.filter(email__iexact=details.email, user__isnull=True).order_by("pk").first()
    if existing:
        changed = False
        for field in ("name", "phone", "preferred_contact"):
            value = getattr(details, field)
            if value and getattr(existing, field) != value:
                setattr(existing, field, value)
                changed = True
        if changed:
            existing.save(update_fields=["name", "phone", "preferred_contact"])
        return existing
    return _create_customer(details)


def _create_customer(details: CustomerDetails, user=None) -> Customer:
    customer = Customer(user=user, **details.__dict__)
    customer.full_clean(exclude=["user"])
    customer.save()
    return customer


def book_repair(
    *,
    customer: CustomerDetails,
    device: DeviceDetails,
    problem: str,
    user=None,
) -> RepairTicket:
    """A customer books a repair: creates (or reuses) the customer, the device and the ticket."""
    problem = _require_text(problem, "problem_description")
    with transaction.atomic():
        customer_obj = _customer_for_booking(customer, user)
        device_obj = Device(customer=customer_obj, **device.__dict__)
        device_obj.full_clean()
        device_obj.save()
        return create_ticket(customer=customer_obj, device=device_obj, problem=problem, by=user)


@transaction.atomic
def create_ticket(
    *,
    customer: Customer,
    device: Device,
    problem: str,
    by=None,
    priority: str = Priority.NORMAL,
    due_date: date | None = None,
    assigned_technician=None,
) -> RepairTicket:
    """Open a ticket for a device already on file (booking page, admin, commands)."""
    if device.customer_id != customer.pk:
        raise ValidationError({"device": "This device belongs to another customer."})
    if assigned_technician is not None and not is_technician(assigned_technician):
        raise ValidationError(
            {"assigned_technician": "Only members of the Technicians group can be assigned."}
        )
    problem = _require_text(problem, "problem_description")
    for attempt in range(5):
        try:
            with transaction.atomic():  # a savepoint, so a collision can be retried
                ticket = RepairTicket.objects.create(
                    customer=customer,
                    device=device,
                    problem_description=problem,
                    priority=priority,
                    due_date=due_date,
                    assigned_technician=assigned_technician,
                    quote_currency=settings.SHOP_CURRENCY,
                )
                break
        except IntegrityError:  # a reference collision: draw again
            if attempt == 4:
                raise
    _record_event(
        ticket,
        EventKind.BOOKED,
        {"reference": ticket.reference, "device": str(device)},
        customer_visible=True,
        actor=_actor(by),
    )
    return ticket


_EDITABLE_FIELDS = ("problem_description", "assigned_technician", "priority", "due_date")


@transaction.atomic
def update_ticket(ticket: RepairTicket, *, by=None, **changes: Any) -> RepairTicket:
    """Change a ticket's working details (assignment, priority, due date, problem text)."""
    unknown = set(changes) - set(_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({field: "This field cannot be changed here." for field in sorted(unknown)})
    locked = _lock(ticket)
    previous_technician_id = locked.assigned_technician_id
    technician = changes.get("assigned_technician", locked.assigned_technician)
    if technician is not None and not is_technician(technician):
        raise ValidationError(
            {"assigned_technician": "Only members of the Technicians group can be assigned."}
        )
    if "priority" in changes and changes["priority"] not in Priority.values:
        raise ValidationError({"priority": f"Choose one of: {', '.join(Priority.values)}."})
    if "problem_description" in changes:
        changes["problem_description"] = _require_text(changes["problem_description"], "problem_description")
    diff: dict[str, list[Any]] = {}
    for field, value in changes.items():
        old = getattr(locked, field)
        if old != value:
            diff[field] = [_plain(old), _plain(value)]
            setattr(locked, field, value)
    if not diff:
        return locked
    locked.save(update_fields=[*changes.keys(), "updated_at"])
    _record_event(
        locked,
        EventKind.DETAILS_UPDATED,
        {"changes": diff},
        customer_visible=False,
        actor=_actor(by),
        previous_technician_id=previous_technician_id,
    )
    return locked


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# --- lifecycle ---------------------------------------------------------------------------------


def _apply_transition(locked: RepairTicket, to_status: str, *, by, note: str) -> StatusChange:
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
    change = StatusChange.objects.create(
        ticket=locked, from_status=locked.status, to_status=to_status, changed_by=_actor(by), note=note
    )
    locked.status = to_status
    if to_status in STATUS_PROGRESS:
        locked.progress_percent = max(locked.progress_percent, STATUS_PROGRESS[to_status])
    return change


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
    currency = (currency or settings.SHOP_CURRENCY).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError({"quote_currency": "Use a three-letter ISO 4217 currency code."})
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


# --- history items -----------------------------------------------------------------------------


@transaction.atomic
def add_milestone(ticket: RepairTicket, *, title: str, percent: int, by=None) -> Milestone:
    title = _require_text(title, "title", 120)
    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise ValidationError({"percent": "Progress must be a whole number from 0 to 100."})
    locked = _lock(ticket)
    if locked.status in CLOSED_STATES:
        raise ValidationError({"title": "This repair is closed; no more milestones can be added."})
    milestone = Milestone.objects.create(
        ticket=locked, title=title, percent=percent, reached_at=timezone.now(), created_by=_actor(by)
    )
    locked.progress_percent = percent
    locked.save(update_fields=["progress_percent", "updated_at"])
    _record_event(
        locked,
        EventKind.MILESTONE_REACHED,
        {"milestone_id": milestone.pk, "title": title, "percent": percent},
        customer_visible=True,
        actor=_actor(by),
    )
    return milestone


@transaction.atomic
def add_photo(
    ticket: RepairTicket,
    *,
    image: UploadedFile,
    category: str,
    caption: str = "",
    visible_to_customer: bool = True,
    by=None,
) -> Photo:
    if category not in PhotoCategory.values:
        raise ValidationError({"category": f"Choose one of: {', '.join(PhotoCategory.values)}."})
    checked = photos.check_upload(image, image.size)
    image.name = f"photo.{checked.suffix}"  # the uploaded name is never trusted
    locked = _lock(ticket)
    photo = Photo.objects.create(
        ticket=locked,
        image=image,
        width=checked.width,
        height=checked.height,
        category=category,
        caption=(caption or "").strip()[:200],
        visible_to_customer=visible_to_customer,
        taken_by=_actor(by),
    )
    _record_event(
        locked,
        EventKind.PHOTO_ADDED,
        {
            "photo_id": photo.pk,
            "category": category,
            "category_label": PhotoCategory(category).label,
            "caption": photo.caption,
            "width": photo.width,
            "height": photo.height,
        },
        customer_visible=visible_to_customer,
        actor=_actor(by),
    )
    _enqueue_after_commit("repairs.render_photo_variants", photo.pk)
    return photo


def render_photo_variants(photo: Photo) -> Photo:
    """Render the photo's AVIF/WebP variants once (Celery does it after upload; a page that needs
    them first does it on the spot). Safe to call twice: the row lock makes the second a no-op."""
    with transaction.atomic():
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        if locked.variants:
            return locked
        base_name = locked.image.name.rsplit(".", 1)[0] + "-v"
        with locked.image.open("rb") as original:
            locked.variants = photos.render_variant_files(original, base_name)
        locked.save(update_fields=["variants"])
    return locked


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


@transaction.atomic
def record_quality_check(
    ticket: RepairTicket, *, item: str, passed: bool, notes: str = "", by=None
) -> QualityCheck:
    item = _require_text(item, "item", 120)
    if not isinstance(passed, bool):
        raise ValidationError({"passed": "Say whether the check passed (true or false)."})
    locked = _lock(ticket)
    check = QualityCheck.objects.create(
        ticket=locked, item=item, passed=passed, notes=(notes or "").strip(), checked_by=_actor(by)
    )
    _record_event(
        locked,
        EventKind.QUALITY_CHECKED,
        {"check_id": check.pk, "item": item, "passed": passed, "notes": check.notes},
        customer_visible=True,
        actor=_actor(by),
    )
    return check


@transaction.atomic
def add_note(
    ticket: RepairTicket,
    *,
    text: str,
    priority: str = NotePriority.NORMAL,
    visible_to_customer: bool = False,
    by=None,
) -> Note:
    """A note on the ticket; internal by default, shown to the customer only when marked so."""
    text = _require_text(text, "text", 5000)
    if priority not in NotePriority.values:
        raise ValidationError({"priority": f"Choose one of: {', '.join(NotePriority.values)}."})
    locked = _lock(ticket)
    note = Note.objects.create(
        ticket=locked,
        text=text,
        priority=priority,
        visible_to_customer=visible_to_customer,
        author=_actor(by),
    )
    _record_event(
        locked,
        EventKind.NOTE_ADDED,
        {"note_id": note.pk, "text": text, "priority": priority, "visible_to_customer": visible_to_customer},
        customer_visible=visible_to_customer,
        actor=_actor(by),
    )
    return note


#: Timeline entries other apps may add to a ticket (they own the facts; repairs owns the log).
EXTERNAL_EVENT_KINDS = frozenset(
    {
        EventKind.INVOICE_ISSUED,
        EventKind.PAYMENT_RECEIVED,
        EventKind.PAYMENT_FAILED,
        EventKind.PAYMENT_REFUNDED,
    }
)


@transaction.atomic
def record_ticket_event(
    ticket: RepairTicket,
    *,
    kind: str,
    payload: dict[str, Any],
    customer_visible: bool = True,
    by=None,
) -> TicketEvent:
    """Append an event another app owns (e.g. a payment) to the ticket's log, with the next
    sequence number, published after commit like every other ticket event."""
    if kind not in EXTERNAL_EVENT_KINDS:
        raise ValidationError(
            {"kind": f"Other apps may record only: {', '.join(sorted(EXTERNAL_EVENT_KINDS))}."}
        )
    locked = _lock(ticket)
    locked.save(update_fields=["updated_at"])
    return _record_event(locked, kind, payload, customer_visible=customer_visible, actor=_actor(by))
