"""Absolute links to this site.

In development (``DEBUG``) a page builds them from the request, so links and QR codes follow the
address the site is actually served on (any ``make run HOST=… PORT=…``, a phone on the LAN).
Everywhere else (production pages, emails, SMS, workers) they use ``SITE_URL``, the address
customers use, which production requires at start-up.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    """``path`` (starting with ``/``) as an absolute URL of this site."""
    if request is not None and settings.DEBUG:
        return request.build_absolute_uri(path)
    return settings.SITE_URL + path
