"""One log pipeline for structlog and the standard library.

structlog loggers (ours, django-structlog's) and stdlib loggers (django, celery, channels, SDKs)
all end in the same :class:`structlog.stdlib.ProcessorFormatter`, so every line has the same
shape: one JSON object per line (``LOG_FORMAT=json``) or a readable console line
(``LOG_FORMAT=console``, the default with ``DJANGO_DEBUG=1``).

Django applies it through ``LOGGING_CONFIG = "revivatech.observability.logging.configure"``; a
Celery worker through the ``setup_logging`` signal (see ``celery_hooks``).
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import structlog
import structlog.tracebacks

from revivatech.security.logging import mask_pii_processor

#: Our own identifiers: random hex that the masking rules could take for a phone or card number.
_UNMASKED_KEYS = (
    "timestamp",
    "request_id",
    "correlation_id",
    "connection_id",
    "task_id",
    "parent_task_id",
    "ip_hash",
)


def mask_pii(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """The security app's masking, run after tracebacks are formatted (so they are masked too);
    our own random identifiers are kept as they are."""
    kept = {key: event_dict.pop(key) for key in _UNMASKED_KEYS if key in event_dict}
    masked = mask_pii_processor(logger, method_name, event_dict)
    masked.update(kept)
    return masked


def drop_color_message(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """uvicorn puts a second, ANSI-coloured copy of its message in ``color_message``."""
    event_dict.pop("color_message", None)
    return event_dict


def request_id_from_record(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Django's own ``django.request`` lines (4xx/5xx) are written after the request's context was
    cleared; they pass the request as ``extra``, which carries our id."""
    record = event_dict.get("_record")
    request = getattr(record, "request", None) if record is not None else None
    request = getattr(request, "original", request)  # masked by the PII filter: the real request
    request_id = getattr(request, "request_id", None)
    if request_id:
        event_dict.setdefault("request_id", request_id)
    return event_dict


def shared_processors() -> list:
    """Run for every line, structlog's or the standard library's, before the handler's filters."""
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        request_id_from_record,
        drop_color_message,
    ]


def renderer(log_format: str):
    if log_format == "console":
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer()


def formatter_processors(log_format: str) -> list:
    """Run last, in the handler's formatter, on every line: the context (request id, user id ...)
    and time stamp, tracebacks as data, PII masked, rendered.

    The context is merged here, after any handler filter (the security app's PII filter), so our
    random ids are never taken for phone or card numbers; formatting is synchronous, in the
    logging thread, so the context variables are the caller's."""
    if log_format == "console":
        tracebacks = structlog.processors.format_exc_info
    else:  # frames as data, without local variables (they may hold personal data)
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=20)
        )
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.contextvars.merge_contextvars,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        tracebacks,
        mask_pii,
        renderer(log_format),
    ]


def build_logging(*, log_format: str, level: str, levels: dict[str, str] | None = None) -> dict:
    """The ``LOGGING`` dict: one handler on the root logger, formatted by structlog."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": formatter_processors(log_format),
                "foreign_pre_chain": shared_processors(),
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structlog"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Each of these would otherwise add its own handler or duplicate lines.
            "django": {"level": level, "propagate": True},
            "celery": {"level": level, "propagate": True},
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"level": "WARNING", "propagate": True},  # we log each request ourselves
            **{name: {"level": value} for name, value in (levels or {}).items()},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure(logging_settings: dict | None) -> None:
    """``LOGGING_CONFIG`` callable: the stdlib dictConfig, then structlog on top of it."""
    if logging_settings:
        logging.config.dictConfig(logging_settings)
    configure_structlog()
