"""A dependency outage (PostgreSQL or Redis unreachable) answers 503 with ``Retry-After``, not 500.

Django turns any uncaught exception into the 500 handler (``revivatech.views.server_error``); that
handler asks :func:`unavailable_response` first. An ``OperationalError``/``InterfaceError`` of the
database or a connection error of Redis means "try again shortly", not "bug": the JSON API answers
``{"detail", "errors"}`` with 503, pages a short 503 page rendered without touching the database.
Load balancers and clients (the booking form, the tracker's retries) then back off and retry.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

RETRY_AFTER_SECONDS = 5


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis
    except ImportError:  # pragma: no cover - redis-py is a runtime dependency
        return ()
    return (redis.ConnectionError, redis.TimeoutError)


def is_outage(error: BaseException | None) -> bool:
    """Whether this exception (or one it was raised from) means a dependency is unreachable."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, (OperationalError, InterfaceError, *_redis_errors())):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def unavailable_response(request: HttpRequest, error: BaseException | None = None) -> HttpResponse | None:
    """The 503 answer for an outage, or ``None`` when the error is something else (a real 500)."""
    error = error if error is not None else sys.exc_info()[1]
    if not is_outage(error):
        return None
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": "The service is briefly unavailable. Please retry shortly.", "errors": {}}, status=503
        )
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
