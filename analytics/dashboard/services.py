"""The dashboard as one document, and the reactions that keep open dashboards live.

:func:`build_dashboard` gathers every panel for a set of filters from the rollups, the live
counters and the other apps' selectors (tickets, revenue) plus analytics.monitoring's alerts and
web vitals. :func:`on_events_stored` (registered with ``storage.on_stored(...,
after_commit=True)`` in analytics/apps.py) feeds the live counters and pushes activity items and a tick;
:func:`on_domain_event` ticks when a ticket or payment changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from revivatech.events import DomainEvent
from revivatech.money import minor_to_decimal_string

from ..models import EVENT_NAME_BY_TYPE, EventType
from ..monitoring import selectors as monitoring_selectors
from ..selectors import Segment
from ..services.storage import StoredChunk
from . import live, selectors
from .filters import DashboardFilters
from .realtime import push_to_dashboard, request_tick

logger = logging.getLogger(__name__)

ACTIVITY_LABELS = {
    EventType.BOOKING_COMPLETED: "Booking",
    EventType.QUOTE_APPROVED: "Quote approved",
    EventType.PAYMENT_SUCCEEDED: "Payment received",
    EventType.PAYMENT_FAILED: "Payment failed",
    EventType.RAGE_CLICK: "Rage click",
}


# --- the other apps, read through their selectors -------------------------------------------------


def tickets_panel() -> dict[str, Any]:
    from repairs import selectors as repairs_selectors

    by_status = repairs_selectors.open_tickets_by_status()
    return {
        "open_total": sum(row["count"] for row in by_status),
        "by_status": by_status,
        "workload": repairs_selectors.technician_workload(),
    }


def revenue_panel(filters: DashboardFilters) -> list[dict[str, Any]]:
    from payments import selectors as payments_selectors

    return [
        {
            "currency": figures.currency,
            "gross": figures.gross,
            "refunded": figures.refunded,
            "net": figures.net,
            "payments": figures.payments,
            "display": f"{minor_to_decimal_string(figures.net, figures.currency)} {figures.currency}",
        }
        for figures in payments_selectors.revenue(filters.start, filters.end).values()
    ]


def _read_monitoring(reader: Callable[..., Any], *args: Any) -> tuple[list[dict[str, Any]], bool]:
    """A monitoring panel's rows and whether they are available; a failure there shows the panel
    as unavailable instead of failing the whole dashboard."""
    try:
        return list(reader(*args)), True
    except Exception:
        logger.exception("dashboard: analytics.monitoring.selectors.%s failed", reader.__name__)
        return [], False


def alerts_panel() -> tuple[list[dict[str, Any]], bool]:
    return _read_monitoring(monitoring_selectors.open_alerts)


def vitals_panel(filters: DashboardFilters) -> tuple[list[dict[str, Any]], bool]:
    return _read_monitoring(monitoring_selectors.web_vitals_p75, filters.start, filters.end, filters.segment)


# --- activity ----------------------------------------------------------------------------------------


def activity_item(
    event_type: int, occurred_at: datetime, path: str, props: dict[str, Any], device_type: str, country: str
) -> dict[str, Any]:
    detail = ""
    if props.get("ticket"):
        detail = str(props["ticket"])
    if props.get("amount") is not None and props.get("currency"):
        try:
            amount = minor_to_decimal_string(int(props["amount"]), str(props["currency"]))
            detail = f"{detail} · {amount} {props['currency']}".strip(" ·")
        except (TypeError, ValueError):
            pass
    if event_type == EventType.RAGE_CLICK and props.get("selector"):
        detail = str(props["selector"])[:80]
    return {
        "kind": EVENT_NAME_BY_TYPE.get(event_type, str(event_type)),
        "label": ACTIVITY_LABELS.get(event_type, EVENT_NAME_BY_TYPE.get(event_type, "")),
        "occurred_at": occurred_at,
        "path": path,
        "detail": detail,
        "device_type": device_type,
        "country": country,
    }


def recent_activity(segment: Segment, now: datetime) -> list[dict[str, Any]]:
    return [
        activity_item(e.type, e.occurred_at, e.path, e.props or {}, e.device_type, e.country)
        for e in selectors.recent_activity(segment, before=now)
    ]


# --- the whole dashboard ------------------------------------------------------------------------------


def _funnel(report: dict[str, Any]) -> dict[str, Any]:
    return {"funnel": report["steps"], "funnel_outside": report["outside"]}


def build_dashboard(filters: DashboardFilters, now: datetime | None = None) -> dict[str, Any]:
    """Every panel of the dashboard for ``filters``, with the time each part took."""
    now = now or timezone.now()
    timings: dict[str, float] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        timings[name] = round((time.perf_counter() - started) * 1000, 2)
        return result

    counts = timed("event_counts", lambda: selectors.event_counts(filters, set(selectors.COUNTED_TYPES)))
    traffic = timed("traffic", lambda: selectors.traffic(filters, counts))
    alerts, alerts_available = timed("alerts", alerts_panel)
    vitals, vitals_available = timed("vitals", lambda: vitals_panel(filters))
    return {
        "generated_at": now,
        "filters": filters.as_dict(),
        "live": timed("live", lambda: live.figures(filters.segment, now).as_dict()),
        "traffic": {
            key: traffic[key]
            for key in ("visitors", "pageviews", "sessions", "bounces", "bounce_rate", "avg_session_seconds")
        },
        "conversions": timed("conversions", lambda: selectors.conversions(filters, traffic, counts)),
        "series": timed("series", lambda: selectors.series(filters)),
        "breakdowns": timed("breakdowns", lambda: selectors.breakdowns(filters)),
        "top_pages": timed("top_pages", lambda: selectors.top_pages(filters)),
        **_funnel(timed("funnel", lambda: selectors.funnel(filters))),
        "tickets": timed("tickets", tickets_panel),
        "revenue": timed("revenue", lambda: revenue_panel(filters)),
        "activity": timed("activity", lambda: recent_activity(filters.segment, now)),
        "alerts": alerts,
        "alerts_available": alerts_available,
        "vitals": vitals,
        "vitals_available": vitals_available,
        "timings_ms": timings,
    }


# --- keeping open dashboards live -----------------------------------------------------------------------


def on_events_stored(chunk: StoredChunk) -> None:
    """After a batch of events is committed: live counters, activity items, one tick."""
    rows = chunk.events
    try:
        live.record(rows)
        activity_types = set(selectors.ACTIVITY_TYPES)
        items = [
            {
                **activity_item(row[1], row[0], row[6], row[12] or {}, row[7], row[10]),
                "browser": row[8],
                "utm_source": row[11],
            }
            for row in rows
            if row[1] in activity_types
        ]
        if items:
            push_to_dashboard(
                {"type": "dashboard.activity", "items": _jsonable(items[-selectors.ACTIVITY_ITEMS :])}
            )
        request_tick("events")
    except Exception:  # never into the storing code
        logger.exception("dashboard: could not react to stored events")


def push_alerts(alerts: list[dict[str, Any]]) -> int:
    """Send changed alerts (``analytics.monitoring.services.alerts.alert_dict`` shapes) to the live
    dashboard (``dashboard.alert``); registered with ``on_alerts_changed`` in analytics/apps.py. A
    channel-layer fault is logged, never raised (the alert is stored and the page reads it on load)."""
    pushed = 0
    for alert in alerts:
        try:
            push_to_dashboard({"type": "dashboard.alert", "alert": alert})
            pushed += 1
        except Exception:
            logger.warning("could not push alert %s to the dashboard", alert["id"], exc_info=True)
    return pushed


def on_domain_event(event: DomainEvent) -> None:
    """A ticket or payment changed: open dashboards recompute tickets, workload and revenue."""
    request_tick(event.name)


def _jsonable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {key: (value.isoformat() if isinstance(value, datetime) else value) for key, value in item.items()}
        for item in items
    ]
