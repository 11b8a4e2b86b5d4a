"""Rate limits: per client IP and per user, on the API's writes and the booking form.

Built on DRF's throttles (``SimpleRateThrottle``: a sliding window of request times kept in the
Django cache, which is Redis when ``REDIS_URL`` is set, so every process shares the counts), rather
than hand-written counters: DRF already answers 429 with ``Retry-After`` (from ``wait()``), and the
same classes serve the plain Django booking page through :func:`throttle_page`.

The limits fail open: when the cache cannot be read or written (Redis down), the request goes
through unchecked, with a warning log line and ``revivatech_rate_limit_fail_open_total{scope}``
counted, rather than losing a customer's booking or an API write to a 503.

Rates come from ``settings.SECURITY_RATE_LIMITS`` (``"N/second|minute|hour|day"``, or with a multiple
such as ``"5/10m"``; empty disables one), read on every request so tests and operators can change them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import SimpleRateThrottle

from revivatech.observability.metrics import RATE_LIMIT_FAIL_OPEN
from revivatech.request_info import client_ip

logger = logging.getLogger(__name__)

CACHE_KEY_PREFIX = "ratelimit"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_ip_of(request: Any) -> str | None:
    """The client's address (behind trusted proxies, from X-Forwarded-For); also used by django-axes
    (``None`` when there is none, e.g. ``force_login``'s bare request: axes stores it as NULL)."""
    return client_ip(getattr(request, "META", {})) or None


def is_exempt(request: Any) -> bool:
    """The signed-in user is listed in ``RATE_LIMIT_EXEMPT_USERNAMES`` (a benchmark's own account on
    its own server): then neither the per-user nor the per-IP limit counts or refuses its requests."""
    exempt = settings.RATE_LIMIT_EXEMPT_USERNAMES
    if not exempt:
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.get_username() in exempt


class _SettingsRateThrottle(SimpleRateThrottle):
    """A throttle whose rate is read from ``SECURITY_RATE_LIMITS[scope]`` on each request."""

    cache = cache
    cache_format = CACHE_KEY_PREFIX + ":%(scope)s:%(ident)s"
    methods: frozenset[str] = UNSAFE_METHODS

    def __init__(self) -> None:  # DRF reads the rate in __init__; we read it per request
        self.rate = None
        self.num_requests = self.duration = None

    def get_rate(self) -> str | None:
        return settings.SECURITY_RATE_LIMITS.get(self.scope) or None

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        """DRF's ``N/period`` plus an optional multiple: ``"5/10m"`` is 5 per 10 minutes."""
        if rate is None:
            return (None, None)
        number, period = rate.split("/")
        multiple = "".join(char for char in period if char.isdigit())
        unit = period[len(multiple)] if multiple else period[0]
        duration = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        return (int(number), duration * int(multiple or 1))

    def get_ident(self, request: Any) -> str:
        return client_ip_of(request) or "unknown"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method not in self.methods or getattr(view, "own_rate_limits", False):
            return True
        if is_exempt(request):
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception as error:  # the cache is down: a limit must never cost a booking
            RATE_LIMIT_FAIL_OPEN.labels(self.scope).inc()
            logger.warning(
                "rate limit %s not checked (cache unavailable: %s): request let through",
                self.scope,
                error.__class__.__name__,
            )
            return True


class WriteIPThrottle(_SettingsRateThrottle):
    """API writes per client IP, signed in or not."""

    scope = "api_write_ip"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WriteUserThrottle(_SettingsRateThrottle):
    """API writes per signed-in user (so per token: a token belongs to one user)."""

    scope = "api_write_user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # anonymous: the per-IP limit applies
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class BookingIPThrottle(WriteIPThrottle):
    scope = "booking_ip"


class BookingUserThrottle(WriteUserThrottle):
    scope = "booking_user"


def retry_after_seconds(throttles: Iterable[SimpleRateThrottle]) -> int:
    """Whole seconds until every refusing throttle lets a request through again (at least 1)."""
    waits = [throttle.wait() or 0 for throttle in throttles]
    return max(1, math.ceil(max(waits, default=1)))


def throttle_page(*throttle_classes: type[_SettingsRateThrottle]) -> Callable:
    """For plain Django views (HTML forms): over the limit, the 429 page with ``Retry-After``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = [
                throttle
                for throttle in (cls() for cls in throttle_classes)
                if not throttle.allow_request(request, None)
            ]
            if refused:
                return too_many_requests_page(request, retry_after_seconds(refused))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def too_many_requests_page(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = math.ceil(retry_after / 60)
    response = render(
        request,
        "security/429.html",
        {"retry_after": retry_after, "retry_minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def reset_rate_limits() -> None:
    """Forget every count kept by these throttles and by django-axes' cache (tests, operators)."""
    backend = cache
    client = getattr(backend, "_cache", None)
    if hasattr(client, "get_client"):  # Redis: delete only our keys, never FLUSHDB (Celery, Channels)
        redis = client.get_client(write=True)
        pattern = backend.make_key(f"{CACHE_KEY_PREFIX}:*")
        batch = list(redis.scan_iter(match=pattern, count=500))
        if batch:
            redis.delete(*batch)
        return
    for key in list(getattr(backend, "_cache", {}).keys()):
        if f":{CACHE_KEY_PREFIX}:" in key:
            backend._cache.pop(key, None)
            getattr(backend, "_expire_info", {}).pop(key, None)
