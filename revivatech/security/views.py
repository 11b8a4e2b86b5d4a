"""Security endpoints: the CSP violation report sink, the login lockout answer, and the API token
endpoint under django-axes."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import jsonsafe
from .ratelimit import WriteIPThrottle

logger = logging.getLogger("revivatech.security.csp")

#: Fields of a report worth logging (never the whole body: it is attacker-controlled).
REPORT_FIELDS = (
    "document-uri",
    "violated-directive",
    "effective-directive",
    "blocked-uri",
    "source-file",
    "line-number",
    "disposition",
)


def _reports(body: bytes) -> list[dict[str, Any]]:
    """Both formats: ``application/csp-report`` (``{"csp-report": {...}}``) and the Reporting API's
    ``application/reports+json`` (a list of ``{"type": "csp-violation", "body": {...}}``)."""
    data = jsonsafe.loads(body)
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        return [data["csp-report"]]
    if isinstance(data, list):
        found = []
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("body"), dict):
                body_ = item["body"]
                found.append(
                    {
                        "document-uri": body_.get("documentURL"),
                        "effective-directive": body_.get("effectiveDirective"),
                        "blocked-uri": body_.get("blockedURL"),
                        "source-file": body_.get("sourceFile"),
                        "line-number": body_.get("lineNumber"),
                        "disposition": body_.get("disposition"),
                    }
                )
        return found
    return []


@csrf_exempt  # browsers send reports without cookies or tokens; nothing is changed but a log line
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """``POST /csp-report/``: log each violation (bounded) and answer 204."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > settings.SECURITY_CSP_REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    try:
        reports = _reports(request.body[: settings.SECURITY_CSP_REPORT_MAX_BYTES])
    except (ValueError, UnicodeDecodeError):
        return HttpResponse(status=400)
    for report in reports[:10]:
        fields = {key: str(report.get(key) or "")[:300] for key in REPORT_FIELDS}
        logger.warning("CSP violation %s", json.dumps(fields, sort_keys=True), extra={"csp": fields})
    return HttpResponse(status=204)


def _cool_off_seconds(request: Any) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600


def lockout_response(request: Any, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' answer to a locked-out login: 429 with Retry-After; JSON on the API, else the
    site's page (the admin login gets the same page)."""
    retry_after = _cool_off_seconds(request)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "detail": "Too many failed sign-in attempts for this user from your address. "
                f"Try again in {math.ceil(retry_after / 60)} minutes.",
                "errors": {},
            },
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    response = render(
        getattr(request, "_request", request),
        "security/429.html",
        {"retry_after": retry_after, "retry_minutes": math.ceil(retry_after / 60), "locked_out": True},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


class AxesObtainAuthToken(ObtainAuthToken):
    """``POST /api/v1/auth/token/`` under django-axes: the backend marks a locked-out attempt on
    DRF's request object, which AxesMiddleware (looking at Django's request) cannot see."""

    # DRF's ObtainAuthToken turns throttling off; the per-IP write limit also slows credential
    # stuffing (many usernames from one address), which a per-username lockout does not see.
    throttle_classes = [WriteIPThrottle]
    # DRF's view lists its own parsers (stock JSONParser): deeply nested JSON must be a 400 here too.
    parser_classes = [FormParser, MultiPartParser, jsonsafe.JSONBodyParser]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        valid = serializer.is_valid()
        if getattr(request, "axes_locked_out", False) or getattr(request._request, "axes_locked_out", False):
            request._request.axes_locked_out = False  # answered here, not again by the middleware
            locked = lockout_response(request._request)
            return Response(
                json.loads(locked.content), status=429, headers={"Retry-After": locked["Retry-After"]}
            )
        if not valid:
            serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


obtain_auth_token = AxesObtainAuthToken.as_view()
