"""Observability settings: structured logs, request ids, Sentry, Prometheus metrics.

Every value comes from the environment (docs/observability.md lists them).
"""

from revivatech.env import env_bool, env_str
from revivatech.observability.logging import build_logging
from revivatech.security.logging import with_pii_filter

from .base import DEBUG

# --- logs --------------------------------------------------------------------------------------
#: ``json`` (one JSON object per line) or ``console`` (readable); JSON unless DJANGO_DEBUG=1.
LOG_FORMAT = env_str("LOG_FORMAT", "console" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "console"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, got {LOG_FORMAT!r}")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()

LOGGING_CONFIG = "revivatech.observability.logging.configure"
# Every handler masks personal data (revivatech/security/logging.py).
LOGGING = with_pii_filter(
    build_logging(
        log_format=LOG_FORMAT,
        level=LOG_LEVEL,
        levels={
            # The Stripe SDK logs every request at INFO.
            "stripe": "WARNING",
            # Per-socket delivery lines (one per event and socket); DEBUG shows each client frame too.
            "revivatech.sockets": env_str("LOG_LEVEL_SOCKETS", LOG_LEVEL).upper(),
        },
    )
)

# django-structlog: one ``request_finished`` line per request at INFO (``request_started`` at DEBUG),
# the request id from our middleware (which validates X-Request-ID first), no raw IP (we log a
# keyed hash as ``ip_hash``), and the request's context carried into Celery tasks.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = 10  # logging.DEBUG

OBSERVABILITY_APPS = ["django_structlog", "revivatech.observability"]
#: First in MIDDLEWARE: every response (redirects and errors included) carries X-Request-ID.
OBSERVABILITY_MIDDLEWARE = [
    "revivatech.observability.middleware.RequestIdMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
]

# --- Sentry (off unless SENTRY_DSN is set) ---------------------------------------------------------
SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_RELEASE = env_str("SENTRY_RELEASE")


def _sample_rate(name: str) -> float:
    raw = env_str(name, "0").strip() or "0"
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} must be a number from 0 to 1, got {raw!r}")
    return rate


SENTRY_TRACES_SAMPLE_RATE = _sample_rate("SENTRY_TRACES_SAMPLE_RATE")

# --- Prometheus metrics at /metrics ----------------------------------------------------------------
#: A scraper sends ``Authorization: Bearer <METRICS_TOKEN>``; staff may open the page logged in.
METRICS_TOKEN = env_str("METRICS_TOKEN")
#: Also answer requests from 127.0.0.1/::1 without a token (a scraper on the same host).
METRICS_ALLOW_LOOPBACK = env_bool("METRICS_ALLOW_LOOPBACK", default=False)
#: Celery queues whose Redis list length is exported (when the broker is Redis).
METRICS_CELERY_QUEUES = ["notifications.urgent", "celery", "notifications.bulk"]
