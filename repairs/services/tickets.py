"""Booking and a ticket's working details."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import (
    Customer,
    Device,
    EventKind,
    Priority,
    RepairTicket,
)
from ..roles import ROLE_CUSTOMER, ROLE_STAFF, ROLE_TECHNICIAN, is_technician, role_of
from ._common import _actor, _lock, _record_event, _require_text


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


# --- booking and ticket details ----------------------------------------------------------------


def _customer_for_booking(details: CustomerDetails, user) -> Customer:
    if user is not None and role_of(user) == ROLE_CUSTOMER:
        # A signed-in customer books as themselves; the form shows their details read-only.
        customer = Customer.objects.filter(user=user).first()
        if customer:
            return customer
        return _create_customer(details, user=user)
    if user is not None and role_of(user) in (ROLE_STAFF, ROLE_TECHNICIAN):
        # Staff or a technician at the counter, with the walk-in in front of them: they may update
        # the details on file (never those of a customer who has a login of their own).
        return _counter_customer(details)
    # A stranger: the typed details are unproven, so they never change a customer on file. They
    # reuse a login-less customer only when nothing would change; otherwise the booking gets a
    # customer record of its own, and every message about its ticket goes to what was typed.
    for existing in Customer.objects.filter(
        email__iexact=details.email, user__isnull=True, is_demo=False
    ).order_by("pk"):
        if _same_contact(existing, details):
            return existing
    return _create_customer(details)


def _same_contact(customer: Customer, details: CustomerDetails) -> bool:
    return (
        " ".join(customer.name.split()).casefold() == " ".join(details.name.split()).casefold()
        and _digits(customer.phone) == _digits(details.phone)
        and customer.preferred_contact == details.preferred_contact
    )


def _digits(phone: str) -> str:
    return "".join(char for char in phone or "" if char.isdigit())


def _counter_customer(details: CustomerDetails) -> Customer:
    existing = (
        Customer.objects.filter(email__iexact=details.email, user__isnull=True, is_demo=False)
        .order_by("pk")
        .first()
    )
    if existing is None:
        return _create_customer(details, confirmed=True)
    changed = False
    for field in ("name", "phone", "preferred_contact"):
        value = getattr(details, field)
        if value and getattr(existing, field) != value:
            setattr(existing, field, value)
            changed = True
    if changed or existing.contact_confirmed_at is None:
        existing.contact_confirmed_at = timezone.now()  # checked with the customer in front of them
        existing.full_clean(exclude=["user"])
        existing.save(update_fields=["name", "phone", "preferred_contact", "contact_confirmed_at"])
    return existing


def _create_customer(details: CustomerDetails, user=None, *, confirmed: bool = False) -> Customer:
    customer = Customer(user=user, **details.__dict__)
    if confirmed or user is not None:  # staff took them, or the customer's own login
        customer.contact_confirmed_at = timezone.now()
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
    """A customer books a repair: creates (or reuses) the customer, the device and the ticket.

    ``user`` is who is signed in: a customer books as themselves, staff and technicians for a
    walk-in (they may update the walk-in's details), nobody (``None``) as a stranger whose typed
    details never change a customer on file (see ``_customer_for_booking``)."""
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
