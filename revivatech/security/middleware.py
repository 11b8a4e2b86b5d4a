"""Request body size bound, checked from the declared Content-Length before anything reads the body.

A chunked body (no Content-Length) is bounded by :class:`revivatech.security.asgi.BodySizeLimit`
in front of the ASGI app, which counts the bytes as they arrive.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    megabytes = limit / (1024 * 1024)
    detail = f"The request is too large: the limit is {megabytes:.1f} MB."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "errors": {}}, status=413)
    return render(request, "security/413.html", {"detail": detail}, status=413)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if limit and declared.isdigit() and int(declared) > limit:
            return too_large_response(request, limit)
        return self.get_response(request)
