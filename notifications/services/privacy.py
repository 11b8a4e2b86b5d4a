"""What the notifications app holds about a customer, for GDPR export and erasure."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from repairs.models import Customer

from ..models import Dispatch, Message, NotificationPreference, PushDevice, QuietHours

ERASED = "[erased]"


def export_customer_data(customer: Customer) -> dict[str, Any]:
    quiet = QuietHours.objects.filter(customer=customer).first()
    return {
        "preferences": list(
            NotificationPreference.objects.filter(customer=customer).values(
                "kind", "channel", "enabled", "updated_at"
            )
        ),
        "quiet_hours": (
            {"enabled": quiet.enabled, "start": quiet.start.isoformat(), "end": quiet.end.isoformat()}
            if quiet
            else None
        ),
        "push_devices": list(
            PushDevice.objects.filter(customer=customer).values(
                "token", "token_kind", "platform", "label", "active", "created_at", "deactivated_at"
            )
        ),
        "messages": list(
            Message.objects.filter(customer=customer)
            .order_by("created_at")
            .values(
                "channel",
                "kind",
                "recipient",
                "subject",
                "body_text",
                "status",
                "ticket_reference",
                "created_at",
                "sent_at",
                "delivered_at",
                "opened_at",
                "clicked_at",
            )
        ),
    }


@transaction.atomic
def erase_customer_data(customer: Customer) -> dict[str, int]:
    """Delete choices and devices; keep each message's bare facts (channel, status, times) as the
    shop's record, but nothing that identifies the customer or says what was written to them."""
    preferences = NotificationPreference.objects.filter(customer=customer).delete()[0]
    QuietHours.objects.filter(customer=customer).delete()
    devices = PushDevice.objects.filter(customer=customer).delete()[0]
    messages = Message.objects.filter(customer=customer).update(
        recipient=ERASED, subject="", body_text="", body_html="", context={}, last_error=""
    )
    Dispatch.objects.filter(customer=customer).update(context={})
    return {"notification_preferences": preferences, "push_devices": devices, "messages": messages}
