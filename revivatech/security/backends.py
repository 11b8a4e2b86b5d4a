"""django-axes' lockout check, for logins that come with an HTTP request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes refuses ``authenticate()`` calls without a request; those are never web logins (the
    test client's ``login()``, a shell, management commands), so there is nothing to count: they go
    straight to the next backend. Every view that logs people in passes its request."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
