"""Customer-facing pages: booking, tracking by secret link, quotes, receipts, photos, my repairs.

Views stay thin: they validate input with a form, call one service or selector, and render.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from revivatech import flags
from revivatech.links import absolute_url
from revivatech.money import format_money
from revivatech.security.ratelimit import BookingIPThrottle, BookingUserThrottle, throttle_page

from . import photos, selectors, services
from .contact import customer_for_confirmation
from .demo import DEMO_KINDS, create_demo_ticket, demo_tickets, fire_demo_update
from .forms import BookingForm, QuoteDecisionForm
from .lifecycle import Status
from .models import Customer, Photo, QuoteDecision, RepairTicket
from .presenters import STATUS_SENTENCES, describe_event, event_payload, plain_name
from .readyby import selectors as readyby_selectors
from .roles import ROLE_CUSTOMER, is_shop_staff, role_of

ACCOUNT_TICKETS_PER_PAGE = 25
#: The heading of the shop's details on the tracking page, by what the customer must do next.
SHOP_HEADINGS = {
    Status.BOOKED: "Bring your device to us",
    Status.READY_FOR_PICKUP: "Collect your device",
    Status.CANCELLED: "Collect your device",
    Status.UNREPAIRABLE: "Collect your device",
}
#: A variant's URL always serves the same bytes.
PHOTO_CACHE_CONTROL = "private, max-age=31536000, immutable"


# --- helpers -------------------------------------------------------------------------------------


def not_found(request: HttpRequest) -> HttpResponse:
    """The site's one 404 page, whatever is missing (it never hints that a ticket exists)."""
    return render(request, "404.html", status=404)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def add_service_errors(form: BookingForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the matching form fields (the rest on the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, field_errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


def _linked_customer(request: HttpRequest) -> Customer | None:
    """The Customer record of a logged-in customer, if there is one."""
    if role_of(request.user) != ROLE_CUSTOMER:
        return None
    return Customer.objects.filter(user=request.user).first()


def _quote_context(ticket: RepairTicket) -> dict[str, Any]:
    return {
        "quote_money": format_money(ticket.quote_amount, ticket.quote_currency),
        "quote_pending": ticket.status == Status.AWAITING_APPROVAL,
        "quote_decision_label": QuoteDecision(ticket.quote_decision).label,
    }


# --- pages ---------------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "repairs/home.html")


@require_http_methods(["GET", "HEAD", "POST"])
@throttle_page(BookingIPThrottle, BookingUserThrottle)  # POSTs only: 429 page + Retry-After
def book(request: HttpRequest) -> HttpResponse:
    customer = _linked_customer(request)
    form = BookingForm(request.POST if request.method == "POST" else None, customer=customer)
    if request.method == "POST" and form.is_valid():
        # Staff and technicians book for a walk-in (never becoming that customer): the service
        # trusts their typing over a stranger's, see book_repair.
        booking_user = request.user if request.user.is_authenticated else None
        try:
            ticket = services.book_repair(
                customer=form.customer_details(),
                device=form.device_details(),
                problem=form.cleaned_data["problem_description"],
                user=booking_user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Thank you, your repair is booked. Your reference is {ticket.reference}. "
                "Keep the link to this page (bookmark it or save it): it is how you follow your repair.",
            )
            return redirect("track", token=ticket.tracking_token)
    return render(request, "repairs/book.html", {"form": form, "linked_customer": customer})


@require_http_methods(["GET", "HEAD", "POST"])
def contact_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the booking email: the customer confirms the details on file are theirs. A GET
    only shows them (mail scanners follow links); the button's POST confirms."""
    customer = customer_for_confirmation(token)
    if customer is None:
        return not_found(request)
    done = customer.contact_confirmed
    if request.method == "POST":
        services.confirm_contact(customer)
        done = True
    digits = "".join(char for char in customer.phone if char.isdigit())
    context = {
        "customer": customer,
        "name": plain_name(customer.name),
        "token": token,
        "done": done,
        "phone_ending": digits[-3:],
    }
    return render(request, "repairs/contact_confirm.html", context)


def track(request: HttpRequest, token: str) -> HttpResponse:
    ticket = selectors.ticket_by_tracking_token(token)
    if ticket is None:
        return not_found(request)
    timeline = [
        {
            "event": event,
            **describe_event(event.kind, event_payload(event.kind, event.payload, customer_view=True)),
        }
        for event in selectors.customer_timeline(ticket)
    ]
    newest_first = flags.is_active("timeline_newest_first", request=request, customer_id=ticket.customer_id)
    if newest_first:  # on a phone the latest news is at the top, not thousands of pixels down
        timeline.reverse()

    def variant_url(photo_id: int) -> Callable[[int, str], str]:
        return lambda width, fmt: reverse("track-photo-variant", args=[token, photo_id, width, fmt])

    context = {
        "ticket": ticket,
        "timeline": timeline,
        "milestones": ticket.milestones.all(),
        "photos": [
            {
                "photo": photo,
                **photos.picture_sources(
                    photo,
                    lambda width, fmt, pk=photo.pk: reverse(
                        "track-photo-variant", args=[token, pk, width, fmt]
                    ),
                ),
            }
            for photo in selectors.customer_photos(ticket)
        ],
        "quality_checks": ticket.quality_checks.all(),
        "notes": selectors.customer_notes(ticket),
        "status_sentence": STATUS_SENTENCES.get(ticket.status, ""),
        "shop_heading": SHOP_HEADINGS.get(ticket.status, "Where to find us"),
        "shop_first": ticket.status in SHOP_HEADINGS,  # the customer's next step is a visit
        "ready_by": readyby_selectors.customer_ready_by(ticket),
        "timeline_order": "newest-first" if newest_first else "oldest-first",
        **_quote_context(ticket),
    }
    response = render(request, "repairs/track.html", context)
    # A guest's offline copy is intended (the service worker keeps it); never in a shared cache,
    # always revalidated. Signed in, the session middleware makes it no-store.
    response["Cache-Control"] = "private, no-cache"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def track_quote_decision(request: HttpRequest, token: str) -> HttpResponse:
    """Two steps: the tracking page's buttons open a confirmation page (GET, changes nothing)
    that states the amount and what happens next; only its POST with ``confirmed`` decides."""
    ticket = selectors.ticket_by_tracking_token(token)
    if ticket is None:
        return not_found(request)
    form = QuoteDecisionForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, "Choose whether to approve or decline the quote.")
        return redirect("track", token=token)
    if request.method != "POST" or not form.cleaned_data["confirmed"]:
        if ticket.status != Status.AWAITING_APPROVAL:
            messages.error(request, "There is no quote waiting for a decision on this repair.")
            return redirect("track", token=token)
        return render(
            request,
            "repairs/quote_confirm.html",
            {"ticket": ticket, "approve": form.approved, "decision": form.cleaned_data["decision"]}
            | _quote_context(ticket),
        )
    by = request.user if request.user.is_authenticated else None
    try:
        ticket = services.decide_quote(ticket, approved=form.approved, by=by)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("track", token=token)
    money = format_money(ticket.quote_amount, ticket.quote_currency)
    if form.approved:
        messages.success(request, f"Thank you: you approved the quote of {money}. We will go ahead.")
    else:
        messages.success(
            request,
            f"You declined the quote of {money}, so we have cancelled the repair. "
            "Your device is ready to collect during our opening hours (below).",
        )
    return redirect("track", token=token)


def receipt(request: HttpRequest, token: str) -> HttpResponse:
    ticket = selectors.ticket_by_tracking_token(token)
    if ticket is None:
        return not_found(request)
    tracking_url = absolute_url(ticket.get_absolute_url(), request)
    qr_svg = segno.make(tracking_url, error="m").svg_inline(
        scale=4,
        title=f"QR code: tracking page for {ticket.reference}",
        svgclass="qr-code",
        light="#fff",
        omitsize=True,  # a viewBox instead of a fixed size, so CSS can scale it for print
    )
    # segno builds the SVG from the URL's QR modules only: no user text is interpolated unescaped.
    context = {"ticket": ticket, "tracking_url": tracking_url, "qr_svg": mark_safe(qr_svg)}  # noqa: S308
    return render(request, "repairs/receipt.html", context)


def _variant_response(request: HttpRequest, photo: Photo | None, width: int | None, fmt: str) -> HttpResponse:
    """A normalised AVIF/WebP variant of the photo; never the original, which may carry EXIF
    location data. Until a worker has rendered the variants, a placeholder (a 49-megapixel photo
    takes seconds to encode: never inside a request when workers exist to do it)."""
    if photo is None or fmt not in photos.VARIANT_FORMATS:
        return not_found(request)
    if not photo.variants:
        if services.variants_render_in_worker():
            if not photo.image or not photo.image.storage.exists(photo.image.name):
                return not_found(request)  # nothing to render from: no point waiting
            services.request_photo_variants(photo)
            return _photo_placeholder(photo)
        try:  # no broker (eager mode): nobody else will render them
            photo = services.render_photo_variants(photo)
        except (FileNotFoundError, OSError, ValueError):
            return not_found(request)
    variant = photos.find_variant(photo.variants, width, fmt)
    if variant is None:
        return not_found(request)
    try:
        with default_storage.open(variant["name"], "rb") as file:
            content = file.read()
    except (FileNotFoundError, OSError):
        return not_found(request)
    response = HttpResponse(content, content_type=photos.CONTENT_TYPES[fmt])
    response["Cache-Control"] = PHOTO_CACHE_CONTROL
    return response


def _photo_placeholder(photo: Photo) -> HttpResponse:
    """A neutral picture of the photo's proportions saying it is being prepared (no user text in
    it), never cached, so the next look gets the real one."""
    response = HttpResponse(
        photos.placeholder_svg(photo.width, photo.height), content_type=photos.PLACEHOLDER_CONTENT_TYPE
    )
    response["Cache-Control"] = "private, no-store"
    response["Retry-After"] = "5"
    response["X-Photo-Pending"] = "1"
    return response


def tracked_photo(
    request: HttpRequest, token: str, photo_id: int, width: int | None = None, fmt: str = "webp"
) -> HttpResponse:
    ticket = selectors.ticket_by_tracking_token(token)
    found = selectors.customer_photos(ticket).filter(pk=photo_id).first() if ticket else None
    return _variant_response(request, found, width, fmt)


@login_required
def photo(request: HttpRequest, photo_id: int, width: int | None = None, fmt: str = "webp") -> HttpResponse:
    return _variant_response(request, selectors.photo_visible_to(request.user, photo_id), width, fmt)


@login_required
def photo_original(request: HttpRequest, photo_id: int) -> HttpResponse:
    """The untouched upload, for staff and the assigned technician only."""
    found = selectors.photo_visible_to(request.user, photo_id)
    if found is None or not selectors.user_can_manage_ticket(request.user, found.ticket):
        return not_found(request)
    try:
        file = found.image.open("rb")
    except (FileNotFoundError, ValueError):
        return not_found(request)
    content_type, _ = mimetypes.guess_type(found.image.name)
    response = FileResponse(file, content_type=content_type or "application/octet-stream", as_attachment=True)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def account_repairs(request: HttpRequest) -> HttpResponse:
    tickets = selectors.tickets_visible_to(request.user).order_by("-updated_at", "-pk")
    page = Paginator(tickets, ACCOUNT_TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "repairs/account_repairs.html", {"page": page, "tickets": page.object_list})


# --- realtime demo (staff) -------------------------------------------------------------------------


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_shop_staff(request.user):
        return not_found(request)
    return None


def realtime_demo(request: HttpRequest) -> HttpResponse:
    """Customer, technician and staff views of one demo ticket side by side, with update buttons.
    Only demo tickets (made for this page) are shown; a customer's ticket is refused (404)."""
    if (refusal := _staff_only(request)) is not None:
        return refusal
    tickets = list(demo_tickets()[:50])
    reference = request.GET.get("ticket")
    if reference:
        ticket = next((t for t in tickets if t.reference == reference), None)
        if ticket is None:
            return not_found(request)
    else:
        ticket = tickets[0] if tickets else None
    return render(
        request,
        "repairs/realtime_demo.html",
        {"tickets": tickets, "ticket": ticket, "demo_kinds": DEMO_KINDS},
    )


@require_POST
def realtime_demo_new(request: HttpRequest) -> HttpResponse:
    """A fresh demo ticket (its made-up customer is never notified)."""
    if (refusal := _staff_only(request)) is not None:
        return refusal
    ticket = create_demo_ticket(by=request.user)
    return redirect(f"{reverse('realtime-demo')}?ticket={ticket.reference}")


@require_POST
def realtime_demo_fire(request: HttpRequest, reference: str) -> HttpResponse:
    if (refusal := _staff_only(request)) is not None:
        return refusal
    ticket = selectors.tickets_visible_to(request.user).filter(reference=reference).first()
    if ticket is None:
        return not_found(request)
    try:
        done = fire_demo_update(ticket, request.POST.get("kind", ""), by=request.user)
        result, status_code = {"ok": True, "message": done}, 200
    except PermissionDenied as refusal:
        result, status_code = {"ok": False, "message": str(refusal)}, 403
    except ValidationError as error:
        result, status_code = {"ok": False, "message": _error_text(error)}, 400
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(result, status=status_code)
    if status_code == 403:
        messages.error(request, result["message"])
        context = {"tickets": list(demo_tickets()[:50]), "ticket": None, "demo_kinds": DEMO_KINDS}
        return render(request, "repairs/realtime_demo.html", context, status=403)
    (messages.success if result["ok"] else messages.error)(request, result["message"])
    return redirect(f"{reverse('realtime-demo')}?ticket={ticket.reference}")
