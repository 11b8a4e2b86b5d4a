"""Response headers Django's SecurityMiddleware does not send: Permissions-Policy, and the
Content-Security-Policy built by django-csp with the WebSocket origin of the current host."""

from __future__ import annotations

from typing import Any

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class PermissionsPolicyMiddleware:
    """``Permissions-Policy`` on every response (camera, microphone, geolocation … off)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = settings.PERMISSIONS_POLICY
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response


class SiteCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, plus ``ws://host``/``wss://host`` of the request's own host in
    ``connect-src``: CSP Level 3 lets ``'self'`` match WebSockets, older Safari does not."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if parts.replace is not None and "connect-src" in parts.replace:
            return parts  # a view that replaces connect-src knows what it needs
        try:
            host = request.get_host()
        except Exception:  # DisallowedHost: the response is an error page, 'self' is enough
            return parts
        scheme = "wss" if request.is_secure() else "ws"
        update = dict(parts.update or {})
        update["connect-src"] = [*_as_list(update.get("connect-src")), f"{scheme}://{host}"]
        parts.update = update
        return parts


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
