"""The request id and per-request figures.

:class:`RequestIdMiddleware` runs first: it validates ``X-Request-ID`` (a well-formed incoming id
is kept, anything else replaced) and puts the result where django-structlog's
``RequestMiddleware`` (next in the list) reads it, so that middleware binds it for every log
line, Celery task and domain event of the request. On the way out it sets the response header
and records the Prometheus request metrics by resolved URL name (not raw path).

The ``request_finished`` line gets ``status``, ``method``, ``path`` (secrets in the URL masked,
no query string), ``route`` and ``duration_ms`` through django-structlog's signals.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from revivatech.request_info import client_ip

from . import metrics
from .context import REQUEST_ID_HEADER, accept_request_id, hashed_ip

#: URL kwargs that are secrets (tracking links): shown as "***" in logged paths.
SECRET_URL_KWARGS = ("token", "tracking_token", "secret")


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _before(self, request) -> None:
        request_id = accept_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.META["HTTP_X_REQUEST_ID"] = request_id  # django-structlog trusts it from here
        request.request_id = request_id
        request._observability_started = time.perf_counter()

    def _after(self, request, response) -> None:
        response[REQUEST_ID_HEADER] = request.request_id
        metrics.observe_request(
            request.method, route_name(request), response.status_code, elapsed_seconds(request)
        )

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        self._before(request)
        response = self.get_response(request)
        self._after(request, response)
        return response

    async def __acall__(self, request):
        self._before(request)
        response = await self.get_response(request)
        self._after(request, response)
        return response


def elapsed_seconds(request) -> float:
    started = getattr(request, "_observability_started", None)
    return time.perf_counter() - started if started is not None else 0.0


def route_name(request) -> str:
    """The resolved URL name (bounded cardinality), ``<unmatched>`` for a 404 outside any route."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.view_name or match._func_path


def safe_path(request) -> str:
    """The path without query string, with secret URL parts (tracking tokens) masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for key in SECRET_URL_KWARGS:
            value = match.kwargs.get(key)
            if value:
                path = path.replace(str(value), "***")
    return path


def _bind_request_metadata(request, log_kwargs: dict[str, Any], **kwargs) -> None:
    log_kwargs["request"] = f"{request.method} {request.path}"
    ip = client_ip(request.META)
    if ip:
        structlog.contextvars.bind_contextvars(ip_hash=hashed_ip(ip, settings.SECRET_KEY))


def _bind_finished_metadata(request, response, log_kwargs: dict[str, Any], **kwargs) -> None:
    path = safe_path(request)
    log_kwargs.pop("code", None)  # django-structlog's name for it; ours is "status"
    log_kwargs.update(
        request=f"{request.method} {path}",
        method=request.method,
        path=path,
        route=route_name(request),
        status=response.status_code,
        duration_ms=round(elapsed_seconds(request) * 1000, 2),
    )


def _bind_failed_metadata(request, exception, log_kwargs: dict[str, Any], **kwargs) -> None:
    """A view raised: django-structlog logs ``request_failed`` (with the traceback) instead."""
    path = safe_path(request)
    log_kwargs.pop("code", None)
    log_kwargs.update(
        request=f"{request.method} {path}",
        method=request.method,
        path=path,
        route=route_name(request),
        status=500,
        duration_ms=round(elapsed_seconds(request) * 1000, 2),
    )


def connect_log_signals() -> None:
    from django_structlog import signals

    signals.bind_extra_request_metadata.connect(_bind_request_metadata, dispatch_uid="obs-request-start")
    signals.bind_extra_request_finished_metadata.connect(
        _bind_finished_metadata, dispatch_uid="obs-request-finished"
    )
    signals.bind_extra_request_failed_metadata.connect(
        _bind_failed_metadata, dispatch_uid="obs-request-failed"
    )
