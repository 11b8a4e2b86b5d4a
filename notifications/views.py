"""Pages and endpoints of the notifications app: the customer's preferences, one-click
unsubscribe, the open pixel and click redirect, and the providers' webhooks.

Views stay thin: check the request (signature, form), call one service, answer. A forged or
unsigned webhook gets 403 and changes nothing; a malformed one gets 400 with the reason.
"""

from __future__ import annotations

import base64
import json
import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors
from .forms import PreferencesForm
from .models import Channel, MessageKind
from .services import context, preferences, push_devices, tracking

logger = logging.getLogger(__name__)

#: Column headings of the preferences grid (each checkbox also has its full label).
SHORT_CHANNEL_NAMES = {Channel.EMAIL: "Email", Channel.SMS: "SMS", Channel.PUSH: "Push"}
#: A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "404.html", status=404)


# --- the customer's preferences ------------------------------------------------------------------


def _preferences_form(request: HttpRequest, customer, *, action: str, signed: bool) -> HttpResponse:
    """The choices grid and quiet hours of ``customer``, saved on POST (then back to ``action``)."""
    matrix = preferences.preference_matrix(customer)
    quiet = preferences.quiet_window(customer)
    form = PreferencesForm(request.POST or None, matrix=matrix, quiet=quiet)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                preferences.update_preferences(customer, form.choices())
                preferences.set_quiet_hours(
                    customer,
                    enabled=form.cleaned_data["quiet_enabled"],
                    start=form.cleaned_data["quiet_start"] or quiet.start,
                    end=form.cleaned_data["quiet_end"] or quiet.end,
                )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Your notification choices are saved.")
            return redirect(action)
    response = render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "rows": form.rows(),
            "channels": [SHORT_CHANNEL_NAMES[channel] for channel in Channel.values],
            "time_zone": quiet.time_zone,
            "devices": selectors.active_push_devices(customer),
            "action": action,
            "signed": signed,
        },
        status=400 if request.method == "POST" else 200,
    )
    if signed:
        # The link is the credential: never sent to other sites (and "no-referrer" would make the
        # browser post Origin: null, which CSRF protection refuses).
        response["Referrer-Policy"] = "same-origin"
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    customer = selectors.customer_of_user(request.user)
    if customer is None:
        return render(request, "notifications/no_preferences.html", status=200)
    return _preferences_form(request, customer, action=reverse("notifications-preferences"), signed=False)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """The same choices from the signed link in every email: guests book without an account."""
    customer = preferences.read_preferences_token(token)
    if customer is None:
        return render(
            request, "notifications/unsubscribe.html", {"invalid": True, "preferences": True}, status=404
        )
    return _preferences_form(
        request, customer, action=reverse("notifications-preferences-link", args=[token]), signed=True
    )


@login_required
@require_POST
def remove_device(request: HttpRequest, device_id: int) -> HttpResponse:
    customer = selectors.customer_of_user(request.user)
    if customer is None or not push_devices.remove_device(customer, device_id):
        return _not_found(request)
    messages.success(request, "That device will not get push notifications any more.")
    return redirect("notifications-preferences")


# --- one-click unsubscribe (signed link; RFC 8058 List-Unsubscribe-Post) ---------------------------


@csrf_exempt  # the signed token is the credential; mail clients post without a CSRF cookie
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    unsubscribe_request = preferences.read_unsubscribe_token(token)
    if unsubscribe_request is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    done = request.method == "POST"
    if done:
        preferences.unsubscribe(unsubscribe_request)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return _plain("Unsubscribed.", 200)
    kind = unsubscribe_request.kind
    return render(
        request,
        "notifications/unsubscribe.html",
        {
            "token": token,
            "done": done,
            "marketing": kind == MessageKind.MARKETING,
            "kind_label": "offers and news"
            if kind == MessageKind.MARKETING
            else MessageKind(kind).label.lower(),
            "request_obj": unsubscribe_request,
            "preferences_url": context.preferences_url(unsubscribe_request.customer),
        },
    )


# --- tracking -------------------------------------------------------------------------------------


@never_cache
@require_GET
def open_pixel(request: HttpRequest, signed: str) -> HttpResponse:
    token = tracking.read_open_token(signed)
    if token is None:
        return _plain("Not found.", 404)
    tracking.record_open(token, user_agent=request.headers.get("User-Agent", ""))
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@never_cache
@require_GET
def click(request: HttpRequest, signed: str) -> HttpResponse:
    target = tracking.read_click(signed)
    if target is None:
        return _not_found(request)
    tracking.record_click(target, user_agent=request.headers.get("User-Agent", ""))
    return HttpResponseRedirect(target.target)


# --- provider webhooks ----------------------------------------------------------------------------


@csrf_exempt
@require_POST
def sendgrid_webhook(request: HttpRequest) -> HttpResponse:
    from .providers import sendgrid as sendgrid_adapter

    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    raw = request.body
    if not sendgrid_adapter.verify_event_webhook(raw, signature, timestamp):
        return _plain("Forbidden: the event webhook signature does not verify.", 403)
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return _plain("Forbidden: the timestamp is not a number.", 403)
    if age > settings.NOTIFICATIONS_WEBHOOK_TOLERANCE_SECONDS:
        return _plain("Forbidden: the signed timestamp is too old (a replay?).", 403)
    try:
        events = json.loads(raw)
    except ValueError:
        return _plain("Bad request: the body is not JSON.", 400)
    if not isinstance(events, list):
        return _plain("Bad request: expected a JSON array of events.", 400)
    applied = tracking.handle_sendgrid_events(events)
    return _plain(f"OK ({applied} new)", 200)


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    from .providers import twilio as twilio_adapter

    # Twilio signs the exact URL it called: our public origin plus the path and query string.
    url = settings.NOTIFICATIONS_PUBLIC_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    settings_header = request.headers.get("X-Twilio-Webhooks-Signature-Settings", "")
    if not twilio_adapter.verify_status_callback(url, request.POST, signature, settings_header):
        return _plain("Forbidden: the X-Twilio-Signature does not verify.", 403)
    params = {key: request.POST.get(key, "") for key in request.POST}
    tracking.handle_twilio_status(params, token=request.GET.get("m", ""))
    return _plain("OK", 200)


@csrf_exempt
@require_POST
def ses_webhook(request: HttpRequest) -> HttpResponse:
    from .providers import ses as ses_adapter

    return ses_adapter.tracking_webhook(request, tracking.handle_ses_events)
