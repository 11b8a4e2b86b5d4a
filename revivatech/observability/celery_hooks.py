"""Celery signal hooks.

- A worker (``celery -A revivatech worker``) formats its logs with the project's pipeline instead of
  Celery's own (``setup_logging``), and django-structlog's worker step binds each task's
  ``task_id`` and the context of the request that queued it (``request_id``, ``user_id``), carried
  in the message headers (``DJANGO_STRUCTLOG_CELERY_ENABLED``, see revivatech/celery.py).
- In eager mode (no broker) a task runs inside the request: it already sees the request's context;
  these hooks add ``task_id``/``task`` for the task's duration and restore the request's context
  afterwards (django-structlog's worker receivers would clear it, so they are not used there).
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import signals

logger = structlog.get_logger("revivatech.tasks")

_EAGER_TOKENS = "_observability_context_tokens"


def install(app: Any) -> None:
    """Called from revivatech/celery.py at import, before a worker configures its logging."""
    from django_structlog.celery.steps import DjangoStructLogInitStep

    signals.setup_logging.connect(_setup_worker_logging, weak=False, dispatch_uid="obs-setup-logging")
    app.steps["worker"].add(DjangoStructLogInitStep)


def _setup_worker_logging(**kwargs: Any) -> None:
    from django.conf import settings

    from .logging import configure

    configure(settings.LOGGING)


def _eager_prerun(task_id: str, task: Any, **kwargs: Any) -> None:
    if not getattr(task.request, "is_eager", False):
        return
    tokens = structlog.contextvars.bind_contextvars(task_id=task_id, task=task.name)
    setattr(task.request, _EAGER_TOKENS, tokens)
    logger.info("task_started")


def _eager_postrun(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    tokens = getattr(task.request, _EAGER_TOKENS, None)
    if tokens is None:
        return
    logger.info("task_finished", state=state)
    structlog.contextvars.reset_contextvars(**tokens)


def connect() -> None:
    signals.task_prerun.connect(_eager_prerun, weak=False, dispatch_uid="obs-eager-prerun")
    signals.task_postrun.connect(_eager_postrun, weak=False, dispatch_uid="obs-eager-postrun")
