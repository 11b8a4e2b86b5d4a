"""Celery tasks of the payments app: thin wrappers around services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services


@shared_task(name="payments.tasks.reconcile_payments")
def reconcile_payments(days: int | None = None) -> dict:
    """The periodic reconciliation (PAYMENTS_BEAT_SCHEDULE): the last PAYMENTS_RECONCILE_DAYS."""
    days = settings.PAYMENTS_RECONCILE_DAYS if days is None else days
    run = services.reconcile_payments(since=timezone.now() - timedelta(days=days))
    return {"run": run.pk, "mismatches": run.issues.count(), "errors": run.errors}
