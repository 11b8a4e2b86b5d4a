"""Demo helpers: generated photos and one-click updates for the realtime demo page.

The page only ever acts on demo tickets made for it: the tickets of one made-up customer
(``Customer.is_demo``, an address under the reserved ``.invalid`` domain, no phone, no login), whom
the notifications never message and no booking is ever matched to. A customer's ticket is refused.
"""

from __future__ import annotations

import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import QuerySet
from PIL import Image, ImageDraw

from . import selectors, services
from .lifecycle import Status, allowed_transitions
from .models import Customer, Device, RepairTicket

DEMO_CUSTOMER_NAME = "Demo customer"
#: RFC 2606 reserves .invalid: no message to this address can ever reach anyone.
DEMO_CUSTOMER_EMAIL = "realtime-demo@revivatech.invalid"

DEMO_KINDS = {
    "status": "Next status",
    "milestone": "Milestone (+10%)",
    "photo": "Photo",
    "quality_check": "Quality check",
    "note_public": "Note for the customer",
    "note_internal": "Internal note",
}

_TERMINAL_AVOIDANCE = {Status.CANCELLED, Status.UNREPAIRABLE}


def demo_tickets() -> QuerySet[RepairTicket]:
    """Open demo tickets, newest first."""
    return (
        RepairTicket.objects.filter(customer__is_demo=True, status__in=selectors.open_statuses())
        .select_related("device")
        .order_by("-created_at", "-pk")
    )


def demo_customer() -> Customer:
    customer, _ = Customer.objects.get_or_create(
        is_demo=True,
        defaults={"name": DEMO_CUSTOMER_NAME, "email": DEMO_CUSTOMER_EMAIL, "phone": "", "user": None},
    )
    return customer


@transaction.atomic
def create_demo_ticket(*, by) -> RepairTicket:
    """A fresh demo ticket through the booking service (so its events are real ones)."""
    customer = demo_customer()
    device = Device.objects.create(customer=customer, kind="phone", brand="Demo", model="Realtime phone")
    return services.create_ticket(
        customer=customer, device=device, problem="[realtime demo] A made-up repair for the demo page.", by=by
    )


def require_demo_ticket(ticket: RepairTicket) -> RepairTicket:
    """The demo acts on demo tickets only, never on a customer's repair."""
    if not ticket.customer.is_demo:
        raise PermissionDenied("The realtime demo only acts on demo tickets, never on a customer's repair.")
    return ticket


def demo_photo(label: str, color: str = "#345", size: tuple[int, int] = (800, 600)) -> SimpleUploadedFile:
    picture = Image.new("RGB", size, color)
    ImageDraw.Draw(picture).text((40, 40), label, fill="white")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=80)
    return SimpleUploadedFile(f"{label.lower().replace(' ', '-')}.jpg", buffer.getvalue(), "image/jpeg")


def next_forward_status(ticket: RepairTicket) -> str | None:
    """The next status along the happy path (never cancel / unrepairable)."""
    forward = [s for s in allowed_transitions(ticket.status) if s not in _TERMINAL_AVOIDANCE]
    return forward[-1] if ticket.status == Status.QUALITY_CHECK else (forward[0] if forward else None)


def fire_demo_update(ticket: RepairTicket, kind: str, *, by) -> str:
    """Make one update of ``kind`` on a demo ticket through the services; return what was done."""
    require_demo_ticket(ticket)
    if kind == "status":
        target = next_forward_status(ticket)
        if target is None:
            raise ValidationError({"kind": "This demo ticket is closed; start a new demo ticket."})
        if target == Status.AWAITING_APPROVAL and ticket.quote_amount is None:
            ticket = services.send_quote(ticket, amount=9900, by=by)
        ticket = services.transition_ticket(ticket, target, by=by, note="Demo update")
        return f"Moved to {ticket.get_status_display()}."
    if kind == "milestone":
        percent = min(100, ticket.progress_percent + 10)
        services.add_milestone(ticket, title=f"Demo milestone at {percent}%", percent=percent, by=by)
        return f"Milestone at {percent}%."
    if kind == "photo":
        services.add_photo(ticket, image=demo_photo("Demo photo"), category="repair", caption="Demo", by=by)
        return "Photo added."
    if kind == "quality_check":
        services.record_quality_check(ticket, item="Demo check: powers on", passed=True, by=by)
        return "Quality check recorded."
    if kind in ("note_public", "note_internal"):
        public = kind == "note_public"
        services.add_note(
            ticket,
            text="Demo note for the customer."
            if public
            else "Demo internal note (never sent to the customer).",
            priority="normal" if public else "high",
            visible_to_customer=public,
            by=by,
        )
        return "Note added."
    raise ValidationError({"kind": f"Choose one of: {', '.join(DEMO_KINDS)}."})
