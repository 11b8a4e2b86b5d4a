"""Reads of analytics data used in several places (API, admin, GDPR, reports)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum

from .models import ConsentRecord, Event, EventRollup, Session, SessionRollup, TrackedDevice, VisitorLink

SEGMENT_FIELDS = ("device_type", "browser", "country", "utm_source")


@dataclass(frozen=True)
class Segment:
    """A slice of traffic; empty values mean "all"."""

    device_type: str = ""
    browser: str = ""
    country: str = ""
    utm_source: str = ""

    def as_filter(self, prefix: str = "") -> dict[str, str]:
        return {prefix + name: getattr(self, name) for name in SEGMENT_FIELDS if getattr(self, name)}

    def matches(self, values: dict[str, Any]) -> bool:
        return all(values.get(name) == getattr(self, name) for name in SEGMENT_FIELDS if getattr(self, name))


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, last + 1 day 00:00)`` in UTC."""
    start = datetime.combine(first, time.min, tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


# --- the repairs app (read-only) ---------------------------------------------------------------------


def customer_id_for_ticket(ticket_id: int) -> int | None:
    """The customer of a ticket, through the repairs app's selector."""
    from repairs.selectors import customer_id_for_ticket as repairs_customer_id

    return repairs_customer_id(ticket_id)


# --- sessions and events -------------------------------------------------------------------------------


def sessions_between(start: datetime, end: datetime, segment: Segment | None = None) -> QuerySet[Session]:
    """Sessions that started in ``[start, end)`` (index range on ``started_at``)."""
    sessions = Session.objects.filter(started_at__gte=start, started_at__lt=end)
    return sessions.filter(**segment.as_filter()) if segment else sessions


def events_of_types(start: datetime, end: datetime, types: set[int]) -> QuerySet[Event]:
    """Events of the given types in ``[start, end)``: partition pruning plus the (type, time) index."""
    return Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end, type__in=sorted(types))


# --- rollups (dashboards read these, never the events table) --------------------------------------------


def traffic_summary(start: datetime, end: datetime, segment: Segment | None = None) -> dict[str, Any]:
    sessions = SessionRollup.objects.filter(hour__gte=start, hour__lt=end)
    events = EventRollup.objects.filter(hour__gte=start, hour__lt=end)
    if segment:
        sessions = sessions.filter(**segment.as_filter())
        events = events.filter(**segment.as_filter())
    totals = sessions.aggregate(
        sessions=Sum("sessions"),
        bounces=Sum("bounces"),
        conversions=Sum("conversions"),
        pageviews=Sum("pageviews"),
        duration=Sum("duration_seconds"),
    )
    count = totals["sessions"] or 0
    top_pages = (
        events.filter(type=1).values("path").annotate(views=Sum("count")).order_by("-views", "path")[:10]
    )
    return {
        "sessions": count,
        "pageviews": totals["pageviews"] or 0,
        "bounce_rate": round((totals["bounces"] or 0) / count, 4) if count else None,
        "conversion_rate": round((totals["conversions"] or 0) / count, 4) if count else None,
        "avg_duration_seconds": round((totals["duration"] or 0) / count, 1) if count else None,
        "top_pages": list(top_pages),
    }


# --- identity: what analytics holds about a customer -----------------------------------------------------


@dataclass(frozen=True)
class CustomerTraces:
    visitor_keys: list[uuid.UUID]
    device_ids: list[uuid.UUID]
    session_ids: list[uuid.UUID]

    def events(self, customer_id: int) -> QuerySet[Event]:
        condition = Q(customer_id=customer_id)
        if self.visitor_keys:
            condition |= Q(visitor_key__in=self.visitor_keys)
        if self.device_ids:
            condition |= Q(device_id__in=self.device_ids)
        if self.session_ids:
            condition |= Q(session_id__in=self.session_ids)
        return Event.objects.filter(condition)


def customer_traces(customer_id: int) -> CustomerTraces:
    """The visitor keys, devices and sessions linked to a customer."""
    visitor_keys = list(
        VisitorLink.objects.filter(customer_id=customer_id).values_list("visitor_key", flat=True)
    )
    device_ids = list(TrackedDevice.objects.filter(customer_id=customer_id).values_list("id", flat=True))
    device_ids += [
        d
        for d in ConsentRecord.objects.filter(customer_id=customer_id, device_id__isnull=False)
        .values_list("device_id", flat=True)
        .distinct()
        if d not in device_ids
    ]
    sessions = Session.objects.filter(customer_id=customer_id)
    if visitor_keys:
        sessions = sessions | Session.objects.filter(visitor_key__in=visitor_keys)
    if device_ids:
        sessions = sessions | Session.objects.filter(device_id__in=device_ids)
    return CustomerTraces(
        visitor_keys=visitor_keys,
        device_ids=device_ids,
        session_ids=list(sessions.values_list("id", flat=True).distinct()),
    )
