"""django-axes' database handler plus a limit per client address across every username.

Axes counts failures per (username, address): spraying one password over many accounts from one
address never reaches that limit. Axes' own lockout parameters share one failure limit for every
combination, and the same limit per address alone would lock a whole office (or the shop's counter)
out after a few typos, so the address gets its own, higher limit: ``AXES_IP_FAILURE_LIMIT``
failures (over any usernames) within the cool-off lock the address out with the same 429 page.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LoginLockoutHandler(AxesDatabaseHandler):
    def address_failures(self, request: Any) -> int:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        attempts = AccessAttempt.objects.filter(ip_address=address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def address_locked(self, request: Any) -> bool:
        limit = settings.AXES_IP_FAILURE_LIMIT
        return bool(limit) and settings.AXES_LOCK_OUT_AT_FAILURE and self.address_failures(request) >= limit

    def is_locked(self, request: Any, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or self.address_locked(request)

    def user_login_failed(self, sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if (
            request is not None
            and not getattr(request, "axes_locked_out", False)
            and self.address_locked(request)
        ):
            # The failure that reaches the address's limit is answered with the lockout, as axes
            # does for a (username, address) pair.
            request.axes_locked_out = True
            request.axes_credentials = credentials
