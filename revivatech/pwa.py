"""Progressive web app: the manifest, the service worker and the offline page.

The service worker is rendered by Django so that its precache list holds the hashed static URLs
and its version is derived from the static files manifest: every deploy that changes a static
file changes the worker's bytes, so browsers install the new one and drop the old caches.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

#: Static files every page needs offline (the "shell").
SHELL_FILES = (
    "css/site.css",
    "js/live-tracking.js",
    "js/pwa.js",
    "img/logo.svg",
    "img/icon-192.png",
)


@lru_cache(maxsize=1)
def _manifest_version() -> str:
    """A hash of the static files manifest (production), so the worker changes with every deploy."""
    manifest_name = getattr(staticfiles_storage, "manifest_name", None)
    if manifest_name and staticfiles_storage.exists(manifest_name):
        with staticfiles_storage.open(manifest_name) as manifest:
            return hashlib.sha256(manifest.read()).hexdigest()[:16]
    return ""


def worker_version() -> str:
    return _manifest_version() or "dev-" + hashlib.sha256(",".join(_shell_urls()).encode()).hexdigest()[:8]


def _shell_urls() -> list[str]:
    return [reverse("offline"), *(static(name) for name in SHELL_FILES)]


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    config = {
        "version": worker_version(),
        "shell": _shell_urls(),
        "offline": reverse("offline"),
        "staticPrefix": settings.STATIC_URL,
        # In development static URLs are not hashed: fetch them from the network first.
        "staticNetworkFirst": not _manifest_version(),
    }
    response = render(
        request,
        "pwa/sw.js",
        {"config_json": json.dumps(config)},
        content_type="application/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    body = {
        "name": f"{settings.SHOP_NAME} repairs",
        "short_name": settings.SHOP_NAME,
        "description": "Book a device repair and follow it live.",
        "id": "/",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0f5e5a",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": static("img/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"indent": 1})


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "pwa/offline.html")
