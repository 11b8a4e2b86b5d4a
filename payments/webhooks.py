"""Provider webhooks: ``/webhooks/stripe/`` and ``/webhooks/paypal/``.

CSRF-exempt (providers cannot send our token), verified against the raw request body, then
stored and processed by :func:`payments.services.process_event`. Answers: 200 processed, ignored
or duplicate; 400 bad signature or body (nothing stored or changed); 503 the signature cannot be
checked now (not configured, PayPal unreachable); 500 processing failed (the provider retries).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .providers.base import WebhookVerificationError, WebhookVerificationUnavailable

MAX_BODY_BYTES = 256 * 1024


def _answer(receive, request: HttpRequest, *args) -> JsonResponse:
    if len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"detail": "The body is too large for a webhook event."}, status=400)
    try:
        result = receive(request.body, *args)
    except WebhookVerificationError as error:
        return JsonResponse({"detail": str(error)}, status=400)
    except WebhookVerificationUnavailable as error:
        return JsonResponse({"detail": str(error)}, status=503)
    body = {"status": result.status, "detail": result.outcome, "duplicate": result.duplicate}
    return JsonResponse(body, status=200 if result.ok else 500)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    return _answer(services.receive_stripe_webhook, request, request.headers.get("Stripe-Signature", ""))


@csrf_exempt
@require_POST
def paypal_webhook(request: HttpRequest) -> JsonResponse:
    return _answer(services.receive_paypal_webhook, request, request.headers)
