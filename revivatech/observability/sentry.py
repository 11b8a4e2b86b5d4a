"""Optional error reporting with Sentry (``SENTRY_DSN``): nothing is initialised without it.

Django and Celery integrations; ``send_default_pii=False`` (no cookies, no user email or IP,
no request bodies); each event is tagged with the ``request_id`` of the request or task, so an
error report and its log lines find each other.
"""

from __future__ import annotations

from typing import Any

from .context import current_request_id


def _tag_request_id(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    request = event.get("request") or {}
    request.pop("cookies", None)
    request.pop("data", None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in {"cookie", "authorization", "x-csrftoken"}:
            headers.pop(name)
    return event


def init_sentry(
    dsn: str, *, environment: str = "", release: str = "", traces_sample_rate: float = 0.0
) -> bool:
    """Initialise the SDK when ``dsn`` is set. Returns whether it was initialised."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            # Error log lines become breadcrumbs only; exceptions are reported by the integrations.
            LoggingIntegration(event_level=None),
        ],
        before_send=_tag_request_id,
        max_request_body_size="never",
    )
    return True


def init_from_settings() -> bool:
    from django.conf import settings

    return init_sentry(
        settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT,
        release=settings.SENTRY_RELEASE,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
    )
