"""Reads of the dashboard: daily aggregates for whole-day ranges (the slices for views with no
segment or a one-dimension segment, the daily cube for more), the hourly session rollup for the
hour-by-hour series; the raw events table only for the newest few activity items (an index range
on ``(type, occurred_at)``, limited), never for aggregates over a range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, QuerySet, Sum

from ..models import (
    DailyEventRollup,
    DailyEventSlice,
    DailySessionRollup,
    DailySessionSlice,
    Event,
    EventType,
    Session,
    SessionRollup,
)
from ..selectors import SEGMENT_FIELDS, Segment, sessions_between
from ..services import reports
from .filters import DashboardFilters
from .rollups import segment_key

CONVERSION_TYPES = {
    "bookings": EventType.BOOKING_COMPLETED,
    "quote_approvals": EventType.QUOTE_APPROVED,
    "payments": EventType.PAYMENT_SUCCEEDED,
    "failed_payments": EventType.PAYMENT_FAILED,
    "rage_clicks": EventType.RAGE_CLICK,
}
ACTIVITY_TYPES = (
    EventType.BOOKING_COMPLETED,
    EventType.QUOTE_APPROVED,
    EventType.PAYMENT_SUCCEEDED,
    EventType.PAYMENT_FAILED,
    EventType.RAGE_CLICK,
)
#: Every event type a dashboard counts from the rollups (one query for all of them).
COUNTED_TYPES = frozenset({EventType.PAGEVIEW, *CONVERSION_TYPES.values()})
TOP_PAGES = 10
BREAKDOWN_ROWS = 10
ACTIVITY_ITEMS = 20
ACTIVITY_LOOKBACK = timedelta(days=7)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def slice_of(segment: Segment) -> str | None:
    """The slice answering a segment of at most one dimension; ``None`` for two or more."""
    chosen = segment.as_filter()
    if len(chosen) > 1:
        return None
    return segment_key(*next(iter(chosen.items()))) if chosen else ""


def daily_sessions(filters: DashboardFilters) -> QuerySet:
    """Session totals per day (``day``, ``sessions``, ``bounces``, ``conversions``, ``pageviews``,
    ``duration_seconds``) of the filters' days and segment."""
    key = slice_of(filters.segment)
    if key is not None:
        return DailySessionSlice.objects.filter(
            segment=key, dimension="", day__gte=filters.first_day, day__lte=filters.last_day
        )
    rows = DailySessionRollup.objects.filter(day__gte=filters.first_day, day__lte=filters.last_day)
    return rows.filter(**filters.segment.as_filter())


def daily_events(filters: DashboardFilters) -> QuerySet:
    """Event counts per day (``day``, ``type``, ``path`` for page views, ``count``)."""
    key = slice_of(filters.segment)
    if key is not None:
        return DailyEventSlice.objects.filter(
            segment=key, day__gte=filters.first_day, day__lte=filters.last_day
        )
    rows = DailyEventRollup.objects.filter(day__gte=filters.first_day, day__lte=filters.last_day)
    return rows.filter(**filters.segment.as_filter())


def traffic(filters: DashboardFilters, counts: dict[int, int] | None = None) -> dict[str, Any]:
    """Page views, sessions, bounce rate, average session duration, converted sessions."""
    totals = daily_sessions(filters).aggregate(
        sessions=Sum("sessions"),
        bounces=Sum("bounces"),
        conversions=Sum("conversions"),
        duration=Sum("duration_seconds"),
    )
    sessions = totals["sessions"] or 0
    pageviews = (counts or event_counts(filters, {EventType.PAGEVIEW}))[EventType.PAGEVIEW]
    return {
        "visitors": visitors(filters),
        "pageviews": pageviews,
        "sessions": sessions,
        "bounces": totals["bounces"] or 0,
        "bounce_rate": _rate(totals["bounces"] or 0, sessions),
        "avg_session_seconds": round((totals["duration"] or 0) / sessions, 1) if sessions else None,
        "converted_sessions": totals["conversions"] or 0,
    }


def visitors(filters: DashboardFilters) -> int:
    """People who started a visit in the range: each customer once (all their devices), else each
    consented device, else each anonymous visitor key (which changes every UTC day)."""
    sessions = sessions_between(filters.start, filters.end, filters.segment)
    customers = sessions.filter(customer__isnull=False).values("customer_id").distinct().count()
    others = sessions.filter(customer__isnull=True).values("identity").distinct().count()
    return customers + others


def event_counts(filters: DashboardFilters, types: set[int]) -> dict[int, int]:
    """Events per type in the range (daily rollups)."""
    rows = (
        daily_events(filters)
        .filter(type__in=sorted(types))
        .values("type")
        .annotate(n=Sum("count"))
        .values_list("type", "n")
    )
    return {event_type: 0 for event_type in types} | dict(rows)


def conversions(
    filters: DashboardFilters, traffic_figures: dict[str, Any], counts: dict[int, int] | None = None
) -> dict[str, Any]:
    counts = counts or event_counts(filters, set(CONVERSION_TYPES.values()))
    sessions = traffic_figures["sessions"]
    return {
        **{name: counts[event_type] for name, event_type in CONVERSION_TYPES.items()},
        "converted_sessions": traffic_figures["converted_sessions"],
        "conversion_rate": _rate(traffic_figures["converted_sessions"], sessions),
    }


def series(filters: DashboardFilters) -> list[dict[str, Any]]:
    """Sessions, page views (of the sessions started then) and converted sessions per hour (ranges
    of up to two days, hourly rollups) or per day (daily rollups); empty buckets included."""
    if filters.granularity == "hour":
        rows = (
            SessionRollup.objects.filter(hour__gte=filters.start, hour__lt=filters.end)
            .filter(**filters.segment.as_filter())
            .values(t=F("hour"))
            .annotate(sessions=Sum("sessions"), pageviews=Sum("pageviews"), conversions=Sum("conversions"))
        )
        found = {row["t"].astimezone(UTC): row for row in rows}
        step = timedelta(hours=1)
    else:
        rows = (
            daily_sessions(filters)
            .values(t=F("day"))
            .annotate(sessions=Sum("sessions"), pageviews=Sum("pageviews"), conversions=Sum("conversions"))
        )
        found = {datetime(row["t"].year, row["t"].month, row["t"].day, tzinfo=UTC): row for row in rows}
        step = timedelta(days=1)
    points = []
    moment = filters.start
    while moment < filters.end:
        row = found.get(moment) or {}
        points.append(
            {
                "t": moment,
                "sessions": row.get("sessions") or 0,
                "pageviews": row.get("pageviews") or 0,
                "conversions": row.get("conversions") or 0,
            }
        )
        moment += step
    return points


def breakdown(filters: DashboardFilters, dimension: str) -> list[dict[str, Any]]:
    """Sessions, page views, bounce rate and converted sessions per value of one segment dimension,
    busiest first."""
    if dimension not in SEGMENT_FIELDS:
        raise ValueError(f"Unknown dimension {dimension!r}")
    key = slice_of(filters.segment)
    if key is not None:
        source = DailySessionSlice.objects.filter(
            segment=key, dimension=dimension, day__gte=filters.first_day, day__lte=filters.last_day
        ).values(**{dimension: F("value")})
    else:
        source = daily_sessions(filters).values(dimension)
    rows = (
        source.annotate(
            n_sessions=Sum("sessions"),
            n_pageviews=Sum("pageviews"),
            n_bounces=Sum("bounces"),
            n_conversions=Sum("conversions"),
        )
        .filter(n_sessions__gt=0)
        .order_by("-n_sessions", dimension)[:BREAKDOWN_ROWS]
    )
    return [
        {
            "value": row[dimension],
            "sessions": row["n_sessions"],
            "pageviews": row["n_pageviews"],
            "bounce_rate": _rate(row["n_bounces"], row["n_sessions"]),
            "conversions": row["n_conversions"],
        }
        for row in rows
    ]


def breakdowns(filters: DashboardFilters) -> dict[str, list[dict[str, Any]]]:
    """All four breakdowns; from the slices in one query."""
    key = slice_of(filters.segment)
    if key is None:
        return {dimension: breakdown(filters, dimension) for dimension in SEGMENT_FIELDS}
    rows = (
        DailySessionSlice.objects.filter(
            segment=key, dimension__in=SEGMENT_FIELDS, day__gte=filters.first_day, day__lte=filters.last_day
        )
        .values("dimension", "value")
        .annotate(
            n_sessions=Sum("sessions"),
            n_pageviews=Sum("pageviews"),
            n_bounces=Sum("bounces"),
            n_conversions=Sum("conversions"),
        )
        .filter(n_sessions__gt=0)
    )
    grouped: dict[str, list[dict[str, Any]]] = {dimension: [] for dimension in SEGMENT_FIELDS}
    for row in sorted(rows, key=lambda r: (-r["n_sessions"], r["value"])):
        if len(grouped[row["dimension"]]) < BREAKDOWN_ROWS:
            grouped[row["dimension"]].append(
                {
                    "value": row["value"],
                    "sessions": row["n_sessions"],
                    "pageviews": row["n_pageviews"],
                    "bounce_rate": _rate(row["n_bounces"], row["n_sessions"]),
                    "conversions": row["n_conversions"],
                }
            )
    return grouped


def top_pages(filters: DashboardFilters, limit: int = TOP_PAGES) -> list[dict[str, Any]]:
    rows = (
        daily_events(filters)
        .filter(type=EventType.PAGEVIEW)
        .values("path")
        .annotate(pageviews=Sum("count"))
        .order_by("-pageviews", "path")[:limit]
    )
    return [{"path": row["path"], "pageviews": row["pageviews"]} for row in rows]


def funnel(filters: DashboardFilters) -> dict[str, Any]:
    """The booking funnel, by the one query path the funnels API uses (reports.funnel): people who
    did each step after the previous one, so no step exceeds the one before it. Conversions by
    people who did not come through the funnel are its ``outside`` line, not steps."""
    steps, _form = reports.FUNNELS["booking"]
    report = reports.funnel(steps, filters.start, filters.end, filters.segment)
    return {
        "steps": [
            {
                "name": step["name"],
                "label": reports.STEP_LABELS.get(step["name"], step["name"]),
                "count": step["entered"],
                "rate_from_start": step["conversion_from_start"],
                "rate_from_previous": step["conversion_from_previous"] if index else None,
            }
            for index, step in enumerate(report["steps"])
        ],
        "outside": report["outside_funnel"],
    }


def recent_activity(segment: Segment, *, before: datetime, limit: int = ACTIVITY_ITEMS) -> list[Event]:
    """The newest bookings, quote approvals, payments and rage clicks (last 7 days, newest first).
    One short backward scan of the ``(type, occurred_at)`` index per type, merged here: a single
    query with ``type IN (…)`` would have to sort every such event of the week."""
    found: list[Event] = []
    for event_type in ACTIVITY_TYPES:
        rows = (
            Event.objects.filter(
                type=int(event_type), occurred_at__gte=before - ACTIVITY_LOOKBACK, occurred_at__lt=before
            )
            .filter(**segment.as_filter())
            .order_by("-occurred_at", "-id")
            .only("occurred_at", "type", "path", "props", "device_type", "country")
        )
        found.extend(rows[:limit])
    found.sort(key=lambda event: (event.occurred_at, event.pk), reverse=True)
    return found[:limit]


def _sessions_seen_since(since: datetime) -> QuerySet[Session]:
    oldest_start = since - timedelta(hours=settings.ANALYTICS_SESSION_MAX_HOURS)
    return Session.objects.filter(started_at__gte=oldest_start, last_seen_at__gte=since)


def pageviews_since_from_database(since: datetime, segment: Segment) -> int:
    return (
        Event.objects.filter(type=EventType.PAGEVIEW, occurred_at__gte=since)
        .filter(**segment.as_filter())
        .aggregate(n=Count("id"))["n"]
        or 0
    )


def active_visitors_in_segment(since: datetime, segment: Segment) -> int:
    return _sessions_seen_since(since).filter(**segment.as_filter()).values("identity").distinct().count()
