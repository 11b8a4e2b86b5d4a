"""``{% analytics_tracker as tracker %}``: whether and how to load the tracker on this page."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse

from analytics.services.identity import consent_cookie_value, consent_from_cookie
from analytics.services.request_info import asks_not_to_be_tracked

register = template.Library()

#: Roles (from the repairs context processor) that never get the tracker: the shop's own people.
UNTRACKED_ROLES = {"staff", "technician"}


@register.simple_tag(takes_context=True)
def analytics_tracker(context) -> dict[str, Any] | None:
    """The tracker's configuration on customer pages; ``None`` on admin, API and staff pages,
    for staff and technicians, and when analytics is switched off."""
    request = context.get("request")
    if request is None or not settings.ANALYTICS_ENABLED:
        return None
    if any(request.path.startswith(prefix) for prefix in settings.ANALYTICS_EXCLUDED_PATHS):
        return None
    user = getattr(request, "user", None)
    if context.get("user_role") in UNTRACKED_ROLES or (
        user is not None and user.is_authenticated and user.is_staff
    ):
        return None
    choice = consent_from_cookie(request.COOKIES.get(settings.ANALYTICS_CONSENT_COOKIE))
    return {
        "events_url": reverse("analytics-events"),
        "consent_url": reverse("analytics-consent"),
        # The banner reads the token from the CSRF cookie (rendering it here would make every
        # page's HTML unique, and cached or compared pages differ).
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "book_path": reverse("book"),
        "ask": choice is None and not asks_not_to_be_tracked(request.META),
        "granted": choice is True,
        # The cookie that says "granted": only then may the tracker keep unsent events in the tab.
        "consent_cookie": f"{settings.ANALYTICS_CONSENT_COOKIE}={consent_cookie_value(True)}",
    }
