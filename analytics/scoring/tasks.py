"""Celery tasks of customer scoring (thin: each calls one service). Scheduled by
ANALYTICS_BEAT_SCHEDULE (weekly training, daily scoring)."""

from __future__ import annotations

from celery import shared_task

from . import services
from .training import NotEnoughData


@shared_task(ignore_result=True)
def train_scoring_models() -> dict:
    try:
        rows = services.train_models()
    except NotEnoughData as exc:
        return {"trained": 0, "skipped": str(exc)}
    return {"trained": len(rows), "versions": {row.kind: row.version for row in rows}}


@shared_task(ignore_result=True)
def score_customers() -> dict:
    try:
        run = services.score_customers()
    except services.NoModels as exc:
        return {"scored": 0, "skipped": str(exc)}
    return {"scored": run.scored, "removed": run.removed}
