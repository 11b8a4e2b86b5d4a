"""Celery task of the ready-by prediction (scheduled by READY_BY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from . import services
from .training import NotEnoughData


@shared_task(name="repairs.train_ready_by_model", ignore_result=True)
def train_ready_by_model() -> dict:
    try:
        model = services.train_model()
    except NotEnoughData as exc:
        return {"trained": 0, "skipped": str(exc)}
    return {"trained": 1, "version": model.version, "metrics": model.metrics}
