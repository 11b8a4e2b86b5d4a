"""Reads of the monitoring data used by the dashboard (``analytics.dashboard``), the API and the admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from ..selectors import Segment
from .models import Alert, AlertStatus
from .services import vitals
from .services.alerts import alert_dict


def alerts(status: str | None = None) -> QuerySet[Alert]:
    """Alerts, newest episode first; ``status`` "open" or "resolved" (None: all)."""
    found = Alert.objects.all()
    return found.filter(status=status) if status else found


def open_alerts() -> list[dict[str, Any]]:
    """The open alerts as JSON-ready dicts (keys: id, metric, direction, observed, expected, z_score,
    change_pct, started_at, last_seen_at, status, message, plus metric_label, resolved_at,
    acknowledged_at; ISO 8601 UTC datetimes)."""
    return [alert_dict(alert) for alert in alerts(AlertStatus.OPEN)]


def web_vitals_p75(start: datetime, end: datetime, segment: Segment | None = None) -> list[dict[str, Any]]:
    """Per page path: path, samples, lcp_p75_ms, inp_p75_ms, cls_p75 and lcp/inp/cls_rating ("good",
    "needs-improvement", "poor"; None without samples), plus lcp/inp/cls_samples; busiest first.
    Read from the hourly histograms (hours starting in ``[start, end)``); see services.vitals for
    the error bound."""
    return vitals.web_vitals_p75(start, end, segment)
