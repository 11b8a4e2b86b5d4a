"""What an alert is about and how it is shown, and who hears of its changes.

Shared by :mod:`.detection` (which raises and resolves alerts) and :mod:`.notify` (which tells the
staff who opted in), so neither imports the other's internals: detection → notify → this module.

Monitoring sits below the dashboard and does not import it: the dashboard registers its push with
:func:`on_alerts_changed` (analytics/apps.py), and :func:`alerts_changed` is called after the commit
of every change (opened, updated, acknowledged, resolved).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from ..models import Alert, AlertDirection, AlertMetric

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricSpec:
    metric: str
    label: str
    kind: str  # "count" or "rate"
    directions: frozenset[str]
    unit: str = ""

    def min_volume(self) -> int:
        return {
            AlertMetric.TRAFFIC: settings.ANALYTICS_ALERT_MIN_PAGEVIEWS,
            AlertMetric.CONVERSION_RATE: settings.ANALYTICS_ALERT_MIN_SESSIONS,
            AlertMetric.ERROR_RATE: settings.ANALYTICS_ALERT_MIN_PAGEVIEWS,
            AlertMetric.FAILED_PAYMENTS: settings.ANALYTICS_ALERT_MIN_PAYMENTS,
        }[self.metric]


BOTH = frozenset({AlertDirection.UP, AlertDirection.DOWN})
UP = frozenset({AlertDirection.UP})
METRICS: dict[str, MetricSpec] = {
    AlertMetric.TRAFFIC: MetricSpec(AlertMetric.TRAFFIC, "Traffic", "count", BOTH, " page views an hour"),
    AlertMetric.CONVERSION_RATE: MetricSpec(AlertMetric.CONVERSION_RATE, "Conversion rate", "rate", BOTH),
    AlertMetric.ERROR_RATE: MetricSpec(AlertMetric.ERROR_RATE, "Error and rage-click rate", "rate", UP),
    AlertMetric.FAILED_PAYMENTS: MetricSpec(AlertMetric.FAILED_PAYMENTS, "Failed-payment rate", "rate", UP),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The JSON shape of an alert (selectors, API, notifications and the dashboard socket)."""
    return {
        "id": alert.pk,
        "metric": alert.metric,
        "metric_label": METRICS[alert.metric].label,
        "direction": alert.direction,
        "observed": alert.observed,
        "expected": alert.expected,
        "z_score": round(alert.z_score, 2),
        "change_pct": None if alert.change_pct is None else round(alert.change_pct, 1),
        "started_at": _iso(alert.started_at),
        "last_seen_at": _iso(alert.last_seen_at),
        "resolved_at": _iso(alert.resolved_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "status": alert.status,
        "message": alert.message,
    }


AlertsHook = Callable[[list[dict[str, Any]]], Any]
#: Called with the :func:`alert_dict` shapes of changed alerts, after the change is committed.
ALERTS_CHANGED_HOOKS: list[AlertsHook] = []


def on_alerts_changed(hook: AlertsHook) -> AlertsHook:
    """Call ``hook`` with the shapes of the alerts that changed (registering twice is a no-op)."""
    if hook not in ALERTS_CHANGED_HOOKS:
        ALERTS_CHANGED_HOOKS.append(hook)
    return hook


def alerts_changed(alerts: list[dict[str, Any]]) -> None:
    """Tell the listeners; a listener's fault is logged, never raised (the alert is stored)."""
    for hook in ALERTS_CHANGED_HOOKS:
        try:
            hook(alerts)
        except Exception:
            logger.warning("alerts: %r failed", hook, exc_info=True)
