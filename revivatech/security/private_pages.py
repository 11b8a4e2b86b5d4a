"""Nothing private stays in the browser after logout.

* Every response to a signed-in session is ``Cache-Control: private, no-store`` (unless the view
  already said ``no-store``): neither the HTTP cache nor the service worker keeps it (the worker
  skips ``no-store`` responses, templates/pwa/sw.js). Views that want an offline copy for guests
  say so themselves (the tracking page: ``private, no-cache``).
* The logout answer carries ``Clear-Site-Data: "cache", "storage"``: the browser drops the site's
  HTTP cache, Cache Storage, local storage and service workers. Not ``"cookies"``: the consent
  choice and the CSRF cookie are not the session's, and logout already ends the session.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

CLEAR_SITE_DATA = '"cache", "storage"'


class PrivatePagesMiddleware:
    """After AuthenticationMiddleware: ``private, no-store`` for every signed-in response."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "no-store" not in response.get("Cache-Control", ""):
            del response["Cache-Control"]  # e.g. a photo's "max-age=…, immutable": not for a session
            patch_cache_control(response, private=True, no_store=True)
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
