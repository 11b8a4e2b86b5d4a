"""Celery tasks of the analytics app (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services import buffer, identity, partitions


@shared_task(ignore_result=True)
def flush_events() -> int:
    """Store what waits in the Redis stream (every ANALYTICS_FLUSH_INTERVAL_SECONDS; no-op in direct mode)."""
    budget = max(1, settings.ANALYTICS_FLUSH_INTERVAL_SECONDS) * 0.8
    return buffer.flush_events(max_seconds=budget).events


@shared_task(ignore_result=True)
def rotate_salts() -> dict:
    """Create today's visitor-hash salt and delete those older than 48 hours (at midnight UTC)."""
    return identity.rotate_salts()


@shared_task(ignore_result=True)
def maintain_storage() -> dict:
    """Event partitions ahead (PostgreSQL) and retention, daily."""
    return {"created": partitions.ensure_ahead(), **partitions.apply_retention()}


# Periodic anomaly detection (analytics/monitoring): imported here so the worker registers it.
from .monitoring.tasks import detect_anomalies  # noqa: E402,F401

# Weekly training and daily scoring (analytics/scoring): imported here so the worker registers them.
from .scoring.tasks import score_customers, train_scoring_models  # noqa: E402,F401
