"""The Celery app. Without REDIS_URL tasks run in-process (eager); with it, on the Redis broker."""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")

app = Celery("revivatech")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def register_tasks() -> None:
    """Import every installed app's ``tasks`` module now (revivatech/apps.py calls this once Django
    is ready). Celery's autodiscovery is lazy: only a worker runs it at start-up, so a web process
    or a management command queueing a task by name (``app.tasks[name]``, eager mode) otherwise
    raised ``NotRegistered``."""
    app.autodiscover_tasks(force=True)


# Worker logs in the project's JSON format, with the request id of the request that queued a task.
from revivatech.observability.celery_hooks import install as _install_observability  # noqa: E402

_install_observability(app)

# Queues: urgent notifications (ready for pickup, payment failed) have their own queue and a
# worker reads it before any other ("priority" order: urgent, then the default queue, then bulk
# notifications). A worker started without -Q consumes all three.
app.conf.task_default_queue = "celery"
app.conf.task_queues = tuple(
    Queue(name, Exchange(name), routing_key=name)
    for name in ("notifications.urgent", "celery", "notifications.bulk")
)
app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "queue_order_strategy": "priority",
}
