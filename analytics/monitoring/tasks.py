"""Celery tasks of the monitoring part (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task

from .services.detection import detect_anomalies as detect


@shared_task(name="analytics.monitoring.tasks.detect_anomalies", ignore_result=True)
def detect_anomalies() -> dict:
    """Judge the metrics against their seasonal baseline (every ANALYTICS_ALERT_INTERVAL_SECONDS)."""
    result = detect()
    return {"opened": len(result.opened), "updated": len(result.updated), "resolved": len(result.resolved)}
