"""Data the scenarios and the load test need, made through the services as staff would make it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrackedTicket:
    reference: str
    tracking_token: str
    status: str
    last_seq: int


def staff_token(username: str = "faults-staff") -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Staff"))
    return Token.objects.get_or_create(user=user)[0].key


def tickets_in_repair(count: int, *, label: str = "[faults] in repair") -> list[TrackedTicket]:
    """``count`` tickets in repair (status toggles in_repair <-> awaiting_parts are then legal)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from repairs import services
    from repairs.models import Customer, Device, RepairTicket

    staff_token()  # makes the staff user if needed
    staff = get_user_model().objects.get(username="faults-staff")
    ready = RepairTicket.objects.filter(problem_description=label, status__in=["in_repair", "awaiting_parts"])
    missing = count - ready.count()
    if missing > 0:
        customer, _ = Customer.objects.get_or_create(
            email="faults@example.com", defaults={"name": "Faults", "contact_confirmed_at": timezone.now()}
        )
        for _ in range(missing):
            device = Device.objects.create(customer=customer, kind="phone", brand="Fault", model="X")
            ticket = services.create_ticket(customer=customer, device=device, problem=label, by=staff)
            for status in ("received", "diagnosing"):
                ticket = services.transition_ticket(ticket, status, by=staff)
            ticket = services.send_quote(ticket, amount=1000, by=staff)
            for status in ("awaiting_approval", "approved", "in_repair"):
                ticket = services.transition_ticket(ticket, status, by=staff)
    rows = ready.order_by("pk").values_list("reference", "tracking_token", "status", "last_event_seq")[:count]
    return [TrackedTicket(*row) for row in rows]


def customer_visible_seqs(reference: str) -> list[int]:
    from repairs.models import TicketEvent

    return list(
        TicketEvent.objects.filter(ticket__reference=reference, customer_visible=True)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
