"""Reads of the repair domain that more than one place needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.db.models.fields.json import KT

from .lifecycle import Status
from .models import STATUS_EVENT_KINDS, Customer, Device, Note, Photo, RepairTicket, TicketEvent
from .roles import is_shop_staff, is_technician


def tickets_visible_to(user) -> QuerySet[RepairTicket]:
    """Staff see every ticket, technicians their assigned ones, customers their own."""
    tickets = RepairTicket.objects.select_related("customer", "device", "assigned_technician")
    if not user or not user.is_authenticated:
        return tickets.none()
    if is_shop_staff(user):
        return tickets
    if is_technician(user):
        return tickets.filter(assigned_technician=user)
    return tickets.filter(customer__user=user)


def user_can_view_ticket(user, ticket: RepairTicket) -> bool:
    return tickets_visible_to(user).filter(pk=ticket.pk).exists()


def user_can_manage_ticket(user, ticket: RepairTicket) -> bool:
    """Staff and the assigned technician may change a ticket; customers only decide quotes."""
    if is_shop_staff(user):
        return True
    return is_technician(user) and ticket.assigned_technician_id == user.pk


def user_is_ticket_customer(user, ticket: RepairTicket) -> bool:
    return bool(user and user.is_authenticated and ticket.customer.user_id == user.pk)


def ticket_by_tracking_token(token: str) -> RepairTicket | None:
    if not token or len(token) > 64:
        return None
    return (
        RepairTicket.objects.select_related("customer", "device", "assigned_technician")
        .filter(tracking_token=token)
        .first()
    )


def customer_timeline(ticket: RepairTicket) -> QuerySet[TicketEvent]:
    return ticket.events.filter(customer_visible=True).order_by("seq")


def ticket_events_since(ticket: RepairTicket, since: int, *, customer_view: bool) -> QuerySet[TicketEvent]:
    events = ticket.events.filter(seq__gt=since).order_by("seq")
    return events.filter(customer_visible=True) if customer_view else events


def customer_photos(ticket: RepairTicket) -> QuerySet[Photo]:
    return ticket.photos.filter(visible_to_customer=True)


# --- the status history: read from the event log, its one record ------------------------------------


def status_events(entered: str | None = None) -> QuerySet[TicketEvent]:
    """Every event that moved a ticket's status (or only those into status ``entered``: the index
    ticket_event_status_entered serves it), in the order the moves happened (by time, then by
    number, as the history always was). Each row is annotated with ``entered``, the status moved
    to, as text (cheaper to read than the JSON value)."""
    events = (
        TicketEvent.objects.filter(kind__in=STATUS_EVENT_KINDS, payload__has_key="to")
        .annotate(entered=KT("payload__to"))
        .order_by("ticket_id", "created_at", "seq")
    )
    return events.filter(payload__to=entered) if entered is not None else events


def status_label(value: str) -> str:
    """A status's label; an unknown value as it is."""
    return Status(value).label if value in Status.values else value


@dataclass(frozen=True)
class StatusMove:
    """One move of a ticket's status, as the shop sees it."""

    from_status: str
    to_status: str
    note: str
    changed_by: Any  # the user who made it; None for the customer or the system
    created_at: datetime

    @property
    def from_label(self) -> str:
        return status_label(self.from_status)

    @property
    def to_label(self) -> str:
        return status_label(self.to_status)


def status_history(ticket: RepairTicket) -> list[StatusMove]:
    """A ticket's status moves, oldest first, with who made them (one query)."""
    return [
        StatusMove(
            from_status=str(event.payload.get("from", "")),
            to_status=str(event.payload["to"]),
            note=str(event.payload.get("note") or ""),
            changed_by=event.actor,
            created_at=event.created_at,
        )
        for event in status_events().filter(ticket=ticket).select_related("actor")
    ]


def customer_notes(ticket: RepairTicket) -> QuerySet[Note]:
    return ticket.notes.filter(visible_to_customer=True)


def notes_visible_to(user, ticket: RepairTicket) -> QuerySet[Note]:
    if user_can_manage_ticket(user, ticket) or is_shop_staff(user):
        return ticket.notes.all()
    return customer_notes(ticket)


def open_statuses() -> list[str]:
    from .lifecycle import OPEN_STATES

    return sorted(OPEN_STATES)


def customers_visible_to(user) -> QuerySet[Customer]:
    """Staff see every customer; technicians the customers of their assigned tickets."""
    if is_shop_staff(user):
        return Customer.objects.all()
    if is_technician(user):
        return Customer.objects.filter(
            pk__in=RepairTicket.objects.filter(assigned_technician=user).values("customer")
        )
    return Customer.objects.none()


def devices_visible_to(user) -> QuerySet[Device]:
    """Staff see every device; technicians the devices of their assigned tickets."""
    if is_shop_staff(user):
        return Device.objects.select_related("customer")
    if is_technician(user):
        return Device.objects.select_related("customer").filter(
            pk__in=RepairTicket.objects.filter(assigned_technician=user).values("device")
        )
    return Device.objects.none()


def photo_visible_to(user, photo_id: int) -> Photo | None:
    """A photo on a ticket the user can see; internal photos only for staff and the assigned
    technician."""
    found = (
        Photo.objects.select_related("ticket")
        .filter(pk=photo_id, ticket__in=tickets_visible_to(user))
        .first()
    )
    if found is not None and not found.visible_to_customer and not user_can_manage_ticket(user, found.ticket):
        return None
    return found


def customer_id_for_ticket(ticket_id: int) -> int | None:
    """The id of a ticket's customer (for apps that react to ticket events)."""
    return RepairTicket.objects.filter(pk=ticket_id).values_list("customer_id", flat=True).first()


def ticket_by_id(ticket_id: int) -> RepairTicket | None:
    """A ticket with its customer and device (for apps that react to ticket events)."""
    return RepairTicket.objects.select_related("customer", "device").filter(pk=ticket_id).first()


# --- reads for analytics' customer scoring (whole-shop history, aggregated by the caller) ---------------


def scoring_customers() -> QuerySet[Customer]:
    """Customers that still exist as people (GDPR-erased ones are left out)."""
    return Customer.objects.exclude(email__startswith="erased-", email__endswith="@invalid.example")


def scoring_tickets() -> QuerySet[RepairTicket]:
    """Every ticket, for history features (customer, dates, quote decision, amount)."""
    return RepairTicket.objects.all()


def scoring_devices() -> QuerySet[Device]:
    return Device.objects.all()


def scoring_quality_checks():
    """Quality checks with their ticket's customer (``ticket__customer_id``)."""
    from .models import QualityCheck

    return QualityCheck.objects.all()


def open_tickets_by_status() -> list[dict]:
    """Tickets not yet closed (being worked on, or ready for pickup) per status, in lifecycle order:
    ``[{"status", "label", "count"}]`` (dashboards)."""
    from django.db.models import Count

    from .lifecycle import OPEN_STATES, Status

    active = OPEN_STATES | {Status.READY_FOR_PICKUP}
    counts = dict(
        RepairTicket.objects.filter(status__in=active)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [
        {"status": value, "label": label, "count": counts.get(value, 0)}
        for value, label in Status.choices
        if value in active
    ]


def technician_workload() -> list[dict]:
    """Tickets being worked on per technician (every technician, busiest first; then the unassigned):
    ``[{"technician_id", "name", "open_tickets"}]`` (dashboards)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Q

    from .lifecycle import OPEN_STATES
    from .roles import TECHNICIANS_GROUP

    open_filter = Q(assigned_tickets__status__in=OPEN_STATES)
    technicians = (
        get_user_model()
        .objects.filter(groups__name=TECHNICIANS_GROUP, is_active=True)
        .annotate(open_tickets=Count("assigned_tickets", filter=open_filter))
        .order_by("-open_tickets", "username")
    )
    rows = [
        {
            "technician_id": user.pk,
            "name": user.get_full_name() or user.get_username(),
            "open_tickets": user.open_tickets,
        }
        for user in technicians
    ]
    unassigned = RepairTicket.objects.filter(status__in=OPEN_STATES, assigned_technician__isnull=True).count()
    if unassigned:
        rows.append({"technician_id": None, "name": "Unassigned", "open_tickets": unassigned})
    return rows


def customer_id_of_user(user) -> int | None:
    """The customer record behind a login (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_revivatech_customer_id"):
        user._revivatech_customer_id = Customer.objects.filter(user=user).values_list("pk", flat=True).first()
    return user._revivatech_customer_id
