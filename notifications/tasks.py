"""Celery tasks of the notifications app: thin wrappers around the delivery services.

``acks_late`` with ``reject_on_worker_lost``: a task whose worker dies is redelivered instead
of acknowledged. The outbox rows stay the source of truth either way: a redelivered task only
claims rows that are still due, and the sweeper recovers what a lost task left behind.
"""

from celery import shared_task

from .services import delivery


@shared_task(name=delivery.DELIVER_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(message_ids: list[int] | None = None) -> dict:
    """Send these outbox rows (those still due), or a batch of any due rows."""
    result = delivery.deliver_batch(message_ids)
    return {"claimed": result.claimed, **result.outcomes}


@shared_task(name="notifications.sweep", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep() -> dict:
    """Beat: re-publish due rows whose task was lost, recover expired leases."""
    result = delivery.sweep()
    return {"released": result.released, "in_doubt": result.in_doubt, "published": result.published}
