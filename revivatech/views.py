"""Site-wide error pages: JSON under /api/, HTML elsewhere."""

from django.shortcuts import render

from .api_errors import json_not_found, json_server_error
from .outage import unavailable_response


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return render(request, "404.html", status=404)


def server_error(request):
    unavailable = unavailable_response(request)  # PostgreSQL or Redis unreachable: 503, not 500
    if unavailable is not None:
        return unavailable
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return render(request, "500.html", status=500)
