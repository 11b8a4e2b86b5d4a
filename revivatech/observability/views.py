"""``/metrics``: Prometheus text format, for staff and the scraper only."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from revivatech.roles import is_shop_staff

from . import metrics


def may_read_metrics(request: HttpRequest) -> bool:
    """Staff (session), a bearer ``METRICS_TOKEN``, or loopback when ``METRICS_ALLOW_LOOPBACK``."""
    authorization = request.headers.get("Authorization", "")
    if settings.METRICS_TOKEN and authorization.startswith("Bearer "):
        return hmac.compare_digest(authorization[7:].strip().encode(), settings.METRICS_TOKEN.encode())
    if settings.METRICS_ALLOW_LOOPBACK:
        try:
            if ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback:
                return True
        except ValueError:
            pass
    return is_shop_staff(getattr(request, "user", None))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        return JsonResponse(
            {"detail": "You do not have permission to read the metrics.", "errors": {}}, status=403
        )
    response = HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
