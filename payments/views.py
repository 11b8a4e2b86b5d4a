"""Customer pages of the payments app: the pay page under the tracking link, the provider return
URLs, and invoices (for the tracking-link holder and the logged-in owner). Nobody else sees an
invoice: every miss is the site's one 404 page.

Views stay thin: they find the ticket, call one service or selector, and render or redirect.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from repairs import selectors as repair_selectors
from repairs.models import RepairTicket
from revivatech.money import format_money
from revivatech.security.csp import pay_page_csp

from . import selectors, services
from .lifecycle import MONEY_TAKEN, PaymentStatus, Provider
from .models import Invoice


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "404.html", status=404)


def _ticket(token: str) -> RepairTicket | None:
    return repair_selectors.ticket_by_tracking_token(token)


def _absolute(request: HttpRequest, name: str, token: str) -> str:
    return request.build_absolute_uri(reverse(name, args=[token]))


def _message(error: ValidationError) -> str:
    return " ".join(error.messages)


def _invoice_context(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "total_money": format_money(invoice.total, invoice.currency),
        "paid_by": selectors.settling_payment(invoice),
    }


# --- the pay page ----------------------------------------------------------------------------------


@never_cache
@require_GET
@pay_page_csp  # Stripe.js, its frames and API; the redirect to PayPal's approval page
def pay(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket(token)
    if ticket is None:
        return _not_found(request)
    invoice = selectors.payable_invoice(ticket)
    context: dict[str, Any] = {"ticket": ticket, "invoice": invoice}
    if invoice is not None:
        providers = selectors.online_providers(invoice.currency)
        context.update(
            _invoice_context(invoice),
            stripe_enabled=Provider.STRIPE in providers,
            paypal_enabled=Provider.PAYPAL in providers,
            stripe_js_url=settings.STRIPE_JS_URL,
            stripe_publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        )
    else:
        context["current"] = selectors.invoice_for_ticket(ticket)
    return render(request, "payments/pay.html", context)


@require_POST
def stripe_intent(request: HttpRequest, token: str) -> HttpResponse:
    """JSON for the pay page's script: the PaymentIntent's client secret (made or reused)."""
    ticket = _ticket(token)
    invoice = selectors.payable_invoice(ticket) if ticket else None
    if invoice is None:
        return JsonResponse({"detail": "There is nothing to pay on this repair right now."}, status=404)
    by = request.user if request.user.is_authenticated else None
    try:
        payment = services.start_stripe_payment(invoice, by=by)
    except ValidationError as error:
        return JsonResponse({"detail": _message(error)}, status=400)
    return JsonResponse(
        {
            "client_secret": payment.client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "amount": payment.amount,
            "currency": payment.currency,
            "return_url": _absolute(request, "payments:stripe-return", token),
        }
    )


@never_cache
@require_GET
def stripe_return(request: HttpRequest, token: str) -> HttpResponse:
    """Where Stripe.js sends the customer after confirming: read the outcome from Stripe."""
    ticket = _ticket(token)
    if ticket is None:
        return _not_found(request)
    intent_id = request.GET.get("payment_intent", "")[:64]
    payment = selectors.ticket_payment(ticket, Provider.STRIPE, intent_id)
    if payment is None:
        messages.error(request, "We could not find that card payment. Nothing has changed on your invoice.")
        return redirect("payments:pay", token=token)
    try:
        payment = services.sync_stripe_payment(payment)
    except ValidationError as error:
        messages.warning(request, f"{_message(error)} We will update this page when Stripe tells us.")
        return redirect("track", token=token)
    return _after_payment(request, token, payment)


def _after_payment(request: HttpRequest, token: str, payment) -> HttpResponse:
    money = format_money(payment.amount, payment.currency)
    if payment.status in MONEY_TAKEN and payment.status != PaymentStatus.NEEDS_REVIEW:
        messages.success(request, f"Thank you: we have received your payment of {money}.")
        return redirect("track", token=token)
    if payment.status == PaymentStatus.NEEDS_REVIEW:
        messages.warning(
            request, "We received your payment and the shop is checking it. We will be in touch."
        )
        return redirect("track", token=token)
    if payment.status == PaymentStatus.FAILED:
        detail = payment.failure_message or "The payment was declined."
        messages.error(request, f"{detail} Nothing was charged; you can try again.")
        return redirect("payments:pay", token=token)
    messages.info(
        request, f"Your payment of {money} is being processed. This page will show it once it is done."
    )
    return redirect("track", token=token)


@require_POST
def paypal_start(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket(token)
    invoice = selectors.payable_invoice(ticket) if ticket else None
    if invoice is None:
        return _not_found(request)
    by = request.user if request.user.is_authenticated else None
    try:
        payment = services.start_paypal_payment(
            invoice,
            return_url=_absolute(request, "payments:paypal-return", token),
            cancel_url=_absolute(request, "payments:paypal-cancel", token),
            by=by,
        )
    except ValidationError as error:
        messages.error(request, _message(error))
        return redirect("payments:pay", token=token)
    return redirect(payment.approve_url)


@never_cache
@require_GET
def paypal_return(request: HttpRequest, token: str) -> HttpResponse:
    """PayPal sends the buyer back here (``?token=<order id>&PayerID=…``) after approving."""
    ticket = _ticket(token)
    if ticket is None:
        return _not_found(request)
    order_id = request.GET.get("token", "")[:64]
    payment = selectors.ticket_payment(ticket, Provider.PAYPAL, order_id)
    if payment is None:
        messages.error(request, "We could not find that PayPal payment. Nothing has changed on your invoice.")
        return redirect("payments:pay", token=token)
    try:
        payment = services.capture_paypal_payment(payment)
    except ValidationError as error:
        messages.error(request, f"{_message(error)} Nothing was charged.")
        return redirect("payments:pay", token=token)
    return _after_payment(request, token, payment)


@require_GET
def paypal_cancel(request: HttpRequest, token: str) -> HttpResponse:
    if _ticket(token) is None:
        return _not_found(request)
    messages.info(request, "You left PayPal without paying; nothing was charged.")
    return redirect("payments:pay", token=token)


# --- invoices --------------------------------------------------------------------------------------


@never_cache
def tracked_invoice(request: HttpRequest, token: str, public_id: str) -> HttpResponse:
    ticket = _ticket(token)
    invoice = selectors.customer_invoice(ticket, public_id) if ticket else None
    if invoice is None:
        return _not_found(request)
    context = {"ticket": ticket, **_invoice_context(invoice)}
    context["pay_url"] = (
        reverse("payments:pay", args=[token]) if selectors.payable_invoice(ticket) == invoice else ""
    )
    return render(request, "payments/invoice.html", context)


@never_cache
@login_required
def account_invoice(request: HttpRequest, public_id: str) -> HttpResponse:
    invoice = selectors.invoices_visible_to(request.user).filter(public_id=public_id).first()
    if invoice is None:
        return _not_found(request)
    ticket = invoice.ticket
    context = {"ticket": ticket, **_invoice_context(invoice)}
    context["pay_url"] = (
        reverse("payments:pay", args=[ticket.tracking_token])
        if repair_selectors.user_is_ticket_customer(request.user, ticket)
        and selectors.payable_invoice(ticket) == invoice
        else ""
    )
    return render(request, "payments/invoice.html", context)


@login_required
def account_invoices(request: HttpRequest) -> HttpResponse:
    invoices = selectors.invoices_visible_to(request.user).order_by("-issued_at", "-pk")[:200]
    return render(request, "payments/account_invoices.html", {"invoices": invoices})
