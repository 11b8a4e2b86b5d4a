"""Liveness and readiness probes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
        if pool is not None:
            # psycopg's pool (DATABASE_POOL_MAX_SIZE) would wait DATABASE_POOL_TIMEOUT for a
            # connection while PostgreSQL is down: the probe answers within a second instead.
            pool.open()  # Django opens it lazily; a no-op once open
            with pool.connection(timeout=1.0) as conn:
                conn.execute("SELECT 1").fetchone()
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"
        return f"database unavailable: {exc.__class__.__name__}"
    return None


def _check_redis() -> str | None:
    if not settings.REDIS_URL:
        return None
    from revivatech import redis_clients

    try:
        redis_clients.sync_client(settings.REDIS_URL, redis_clients.PROBE).ping()
    except Exception as exc:
        return f"redis unavailable: {exc.__class__.__name__}"
    return None


def _broker_configured() -> bool:
    # memory:// is the in-process eager mode: there is no broker to reach.
    url = settings.CELERY_BROKER_URL or ""
    return bool(url) and not url.startswith("memory://")


def _check_broker() -> str | None:
    """The Celery broker accepts a connection (one attempt, 1 s): without it nothing queued by
    this process (deliveries, photo variants) reaches a worker."""
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
    except Exception as exc:
        return f"broker unavailable: {exc.__class__.__name__}"
    return None


@never_cache
@require_GET
def readyz(request):
    """Ready when the database, Redis and the Celery broker (each if configured) answer; 503
    otherwise, naming the failed check in ``checks``."""
    probes = {
        "database": (True, _check_database),
        "redis": (bool(settings.REDIS_URL), _check_redis),
        "broker": (_broker_configured(), _check_broker),
    }
    checks: dict[str, str] = {}
    failed = False
    for name, (configured, probe) in probes.items():
        if not configured:
            checks[name] = "not configured"
            continue
        error = probe()
        failed = failed or bool(error)
        checks[name] = error or "ok"
    body = {"status": "unavailable" if failed else "ok", "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)
