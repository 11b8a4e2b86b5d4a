"""What the repairs app holds about a customer, for GDPR export and erasure."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import (
    Customer,
    EventKind,
    Note,
    Photo,
    QualityCheck,
    RepairTicket,
    StatusChange,
    TicketEvent,
)
from .photos import delete_variant_files

ERASED = "[erased]"

#: Payload keys an erasure keeps, per event kind: facts of the repair (which status it moved from and
#: to, the quote decision), never free text. The status history (repairs.selectors.status_history)
#: and ready-by's training read them.
KEPT_AFTER_ERASURE: dict[str, tuple[str, ...]] = {
    EventKind.STATUS_CHANGED: ("from", "to", "reopened"),
    EventKind.QUOTE_DECIDED: ("from", "to", "decision", "amount", "currency"),
}


def export_customer_data(customer: Customer) -> dict[str, Any]:
    tickets = RepairTicket.objects.filter(customer=customer).select_related("device").order_by("created_at")
    return {
        "profile": {
            "id": customer.pk,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "preferred_contact": customer.preferred_contact,
            "contact_confirmed_at": (
                customer.contact_confirmed_at.isoformat() if customer.contact_confirmed_at else None
            ),
            "time_zone": customer.time_zone,
            "created_at": customer.created_at.isoformat(),
            "login": customer.user.get_username() if customer.user_id else None,
        },
        "devices": list(
            customer.devices.values(
                "id",
                "kind",
                "brand",
                "model",
                "serial_number",
                "condition_on_intake",
                "accessories",
                "created_at",
            )
        ),
        "tickets": [
            {
                "reference": t.reference,
                "device_id": t.device_id,
                "problem": t.problem_description,
                "status": t.status,
                "quote": {
                    "amount": t.quote_amount,
                    "currency": t.quote_currency,
                    "decision": t.quote_decision,
                },
                "created_at": t.created_at.isoformat(),
                "timeline": list(
                    t.events.filter(customer_visible=True)
                    .order_by("seq")
                    .values("seq", "kind", "payload", "created_at")
                ),
                "notes": list(
                    t.notes.filter(visible_to_customer=True).values("text", "priority", "created_at")
                ),
                "photos": list(t.photos.filter(visible_to_customer=True).values("id", "category", "caption")),
            }
            for t in tickets
        ],
    }


@transaction.atomic
def erase_customer_data(customer: Customer) -> dict[str, int]:
    """Anonymise the customer and scrub free text and photos from their repairs. Tickets stay (with
    status and amounts) as the shop's business record, but nothing identifying remains."""
    tickets = RepairTicket.objects.filter(customer=customer)
    photos = Photo.objects.filter(ticket__in=tickets)
    photo_count = 0
    for photo in photos:
        photo.image.delete(save=False)
        delete_variant_files(photo.variants)
        photo_count += 1
    photos.delete()
    notes = Note.objects.filter(ticket__in=tickets).update(text=ERASED)
    QualityCheck.objects.filter(ticket__in=tickets).update(notes="")
    # The deprecated table still holds rows (written before the event log became the one history,
    # and by the previous release during a rolling deploy) until the next release drops it.
    StatusChange.objects.filter(ticket__in=tickets).update(note="")
    events = 0
    for event in TicketEvent.objects.filter(ticket__in=tickets).only("id", "kind", "payload"):
        # The snapshot and the status moves stay: they are the shop's record, not the customer's words.
        kept = KEPT_AFTER_ERASURE.get(event.kind, ())
        event.payload = {
            "ticket": event.payload.get("ticket", {}),
            **{key: event.payload[key] for key in kept if key in event.payload},
        }
        event.save(update_fields=["payload"])
        events += 1
    ticket_count = tickets.update(problem_description=ERASED)
    devices = customer.devices.update(serial_number="", condition_on_intake="", accessories="", model=ERASED)
    user = customer.user
    customer.name = "Erased customer"
    customer.email = f"erased-{customer.pk}@invalid.example"
    customer.phone = ""
    customer.contact_confirmed_at = None  # nothing left to confirm
    customer.user = None
    customer.save()
    if user is not None:
        user.delete()
    return {
        "tickets": ticket_count,
        "devices": devices,
        "photos": photo_count,
        "notes": notes,
        "events": events,
    }
