"""The consent endpoint used by the banner (a page-level endpoint: CSRF-protected, sets cookies)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from revivatech import jsonsafe

from .services.identity import consent_cookie_value, consent_from_cookie, record_consent
from .services.validation import Invalid, device_signals


def _state(granted: bool | None) -> dict:
    return {
        "granted": granted,
        "version": settings.ANALYTICS_CONSENT_VERSION,
        "detail": {
            None: "No choice made for this version of the notice.",
            True: "Consent given: this browser keeps a device id.",
            False: "Consent refused: visits are counted anonymously only.",
        }[granted],
    }


@never_cache
@ensure_csrf_cookie  # the banner's first GET gives it the CSRF cookie it sends back
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest) -> JsonResponse:
    """GET: the current choice. POST ``{"granted": true|false, "device": {...}}`` (JSON, with the
    CSRF token in ``X-CSRFToken``): records the choice with its time and version and sets the
    cookies; with consent, ``device`` (screen, tz, lang, hw) is kept on the consented device."""
    if request.method == "GET":
        return JsonResponse(
            _state(consent_from_cookie(request.COOKIES.get(settings.ANALYTICS_CONSENT_COOKIE)))
        )
    try:
        body = jsonsafe.loads(request.body or b"{}")
    except (UnicodeDecodeError, ValueError):
        return JsonResponse({"detail": 'The body must be JSON: {"granted": true}.', "errors": {}}, status=400)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("granted"), bool)
        or set(body) - {"granted", "device"}
    ):
        return JsonResponse(
            {
                "detail": 'Send {"granted": true} or {"granted": false} (and optionally "device").',
                "errors": {"granted": ["Must be true or false."]},
            },
            status=400,
        )
    granted = body["granted"]
    signals = None
    if granted and body.get("device") is not None:
        try:
            signals = device_signals(body["device"])
        except Invalid as exc:
            return JsonResponse({"detail": f"device: {exc}", "errors": {"device": [str(exc)]}}, status=400)
    _record, device_id = record_consent(request, granted=granted, signals=signals)
    response = JsonResponse(_state(granted))
    max_age = settings.ANALYTICS_COOKIE_MAX_AGE_DAYS * 86_400
    secure = request.is_secure()
    # Readable by the page's scripts: the tracker sends richer signals only when it says "granted".
    response.set_cookie(
        settings.ANALYTICS_CONSENT_COOKIE,
        consent_cookie_value(granted),
        max_age=max_age,
        samesite="Lax",
        secure=secure,
    )
    if device_id is not None:
        response.set_cookie(
            settings.ANALYTICS_DEVICE_COOKIE,
            device_id.hex,
            max_age=max_age,
            samesite="Lax",
            secure=secure,
            httponly=True,
        )
    else:
        response.delete_cookie(settings.ANALYTICS_DEVICE_COOKIE, samesite="Lax")
    return response
