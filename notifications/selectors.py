"""Reads of the notifications app used in more than one place (admin, API, pages, services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from repairs import selectors as repairs_selectors
from repairs.models import Customer, RepairTicket
from revivatech.events import EventKind

from .models import (
    AutomationRule,
    Channel,
    DeliveryEvent,
    Message,
    MessageStatus,
    PushDevice,
)


def ticket_for_notifications(ticket_id: int) -> RepairTicket | None:
    """A ticket with its customer and device, to build a message's context (read only)."""
    return repairs_selectors.ticket_by_id(ticket_id)


def customer_of_user(user) -> Customer | None:
    """The Customer record of a logged-in user (None for staff without one, or anonymous)."""
    if not user or not user.is_authenticated:
        return None
    return Customer.objects.filter(user=user).first()


def active_push_devices(customer: Customer) -> QuerySet[PushDevice]:
    return PushDevice.objects.filter(customer=customer, active=True)


def rules_for_event(event_name: str, to_status: str = "") -> list[AutomationRule]:
    """Enabled rules for an event. For status changes, rules naming the new status win over
    rules without one (so "ready for pickup" is not also sent as a generic status update)."""
    rules = list(AutomationRule.objects.filter(event=event_name, enabled=True).select_related("template"))
    if event_name != EventKind.STATUS_CHANGED:
        return [rule for rule in rules if not rule.to_status]
    specific = [rule for rule in rules if rule.to_status and rule.to_status == to_status]
    return specific or [rule for rule in rules if not rule.to_status]


def messages_for_ticket(reference: str) -> QuerySet[Message]:
    """Every message about one ticket with its delivery events, oldest first (the timeline)."""
    return (
        Message.objects.filter(ticket_reference=reference)
        .select_related("dispatch", "dispatch__rule")
        .prefetch_related("events")
        .order_by("created_at", "id")
    )


def events_for_messages(messages: QuerySet[Message]) -> QuerySet[DeliveryEvent]:
    return DeliveryEvent.objects.filter(message__in=messages).order_by("occurred_at", "id")


@dataclass(frozen=True)
class ChannelStats:
    channel: str
    label: str
    total: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    failed: int
    dead: int
    skipped: int
    pending: int

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole else None

    @property
    def delivery_rate(self) -> float | None:
        """Delivered (or opened/clicked, which imply it) per message sent."""
        return self._rate(self.delivered, self.sent)

    @property
    def open_rate(self) -> float | None:
        return self._rate(self.opened, self.sent)

    @property
    def click_rate(self) -> float | None:
        return self._rate(self.clicked, self.sent)

    @property
    def failure_rate(self) -> float | None:
        return self._rate(self.bounced + self.failed + self.dead, self.total - self.skipped - self.pending)

    def as_dict(self) -> dict:
        return {
            "channel": self.channel,
            "total": self.total,
            "sent": self.sent,
            "delivered": self.delivered,
            "opened": self.opened,
            "clicked": self.clicked,
            "bounced": self.bounced,
            "failed": self.failed,
            "dead": self.dead,
            "skipped": self.skipped,
            "pending": self.pending,
            "delivery_rate": self.delivery_rate,
            "open_rate": self.open_rate,
            "click_rate": self.click_rate,
            "failure_rate": self.failure_rate,
        }


def delivery_stats(*, days: int = 30, now: datetime | None = None) -> list[ChannelStats]:
    """Per channel, over the last ``days`` days: how many messages were sent, delivered, opened
    and clicked (each counted once, from the first time it happened) and how many failed."""
    since = (now or timezone.now()) - timedelta(days=days)
    S = MessageStatus
    rows = (
        Message.objects.filter(created_at__gte=since)
        .values("channel")
        .annotate(
            total=Count("id"),
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            delivered=Count(
                "id",
                filter=Q(delivered_at__isnull=False)
                | Q(opened_at__isnull=False)
                | Q(clicked_at__isnull=False),
            ),
            opened=Count("id", filter=Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            bounced=Count("id", filter=Q(status=S.BOUNCED)),
            failed=Count("id", filter=Q(status=S.FAILED)),
            dead=Count("id", filter=Q(status=S.DEAD)),
            skipped=Count("id", filter=Q(status=S.SKIPPED)),
            pending=Count("id", filter=Q(status__in=[S.QUEUED, S.SENDING])),
        )
    )
    by_channel = {row["channel"]: row for row in rows}
    stats = []
    for channel in Channel:
        row = by_channel.get(channel.value, {})
        stats.append(
            ChannelStats(
                channel=channel.value,
                label=channel.label,
                **{
                    key: row.get(key, 0)
                    for key in (
                        "total",
                        "sent",
                        "delivered",
                        "opened",
                        "clicked",
                        "bounced",
                        "failed",
                        "dead",
                        "skipped",
                        "pending",
                    )
                },
            )
        )
    return stats


def outbox_counts() -> dict[str, int]:
    """Messages per status (the admin's overview of the queue and the dead letters)."""
    return dict(Message.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))


def scoring_messages() -> QuerySet[Message]:
    """Messages that reached a provider (sent or later), for analytics' customer scoring (open rates)."""
    return Message.objects.filter(customer__isnull=False, sent_at__isnull=False)


def scoring_marketing_opt_outs():
    """Customers who switched marketing email off, with when (``updated_at``)."""
    from .models import MessageKind, NotificationPreference

    return NotificationPreference.objects.filter(
        channel=Channel.EMAIL, kind=MessageKind.MARKETING, enabled=False
    )
