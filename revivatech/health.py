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
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        return f"redis unavailable: {exc.__class__.__name__}"
    return None


@never_cache
@require_GET
def readyz(request):
    """Ready when the database and (if configured) Redis answer; 503 otherwise."""
    checks = {"database": _check_database(), "redis": _check_redis() if settings.REDIS_URL else None}
    failures = {name: error for name, error in checks.items() if error}
    body = {
        "status": "unavailable" if failures else "ok",
        "checks": {
            "database": checks["database"] or "ok",
            "redis": (checks["redis"] or "ok") if settings.REDIS_URL else "not configured",
        },
    }
    return JsonResponse(body, status=503 if failures else 200)
