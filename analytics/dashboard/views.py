"""The dashboard page (staff only): anonymous visitors go to the login page, others get a 403.
The page renders the filters' form; the panels are filled by static/analytics/dashboard.js from
the socket (or the API when the socket is down)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from rest_framework import serializers

from repairs.roles import is_shop_staff

from ..models import DeviceType
from .filters import PRESETS
from .serializers import parse_filters


@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_shop_staff(request.user):
        raise PermissionDenied("Only shop staff may see the dashboard.")
    error = ""
    try:
        filters = parse_filters(request.GET.dict())
    except serializers.ValidationError as exc:
        error = "; ".join(
            f"{field}: {messages[0] if isinstance(messages, list) else messages}"
            for field, messages in exc.detail.items()
        )
        filters = parse_filters({})
    status = 400 if error else 200
    context = {
        "filters": filters,
        "error": error,
        "presets": [("today", "Today"), ("7d", "7 days"), ("30d", "30 days"), ("custom", "Custom")],
        "device_types": DeviceType.choices,
        "config": {
            "api": reverse("analytics-dashboard"),
            "socket": "/ws/dashboard/",
            "query": filters.as_query(),
            "presets": list(PRESETS),
            "uplot": static("vendor/uplot/uPlot.esm.js"),
            "fallback_seconds": 30,
        },
    }
    return render(request, "analytics/dashboard.html", context, status=status)
