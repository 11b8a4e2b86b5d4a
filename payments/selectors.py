"""Reads of the payments app used in several places (pages, admin, API) and by other apps:
notifications build messages from them, analytics figures revenue with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, QuerySet, Sum

from repairs.lifecycle import Status
from repairs.models import RepairTicket
from repairs.roles import is_shop_staff

from .lifecycle import SETTLES_INVOICE, InvoiceKind, InvoiceStatus, PaymentStatus, Provider
from .models import Invoice, Payment, PaymentStatusChange, ReconciliationIssue, Refund, RefundStatus
from .providers import paypal_configured, stripe_configured
from .providers.base import PAYPAL_CURRENCIES, STRIPE_CURRENCIES

#: Invoices a customer can see (drafts are the shop's work in progress).
CUSTOMER_VISIBLE_INVOICES = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.PAID,
    InvoiceStatus.REFUNDED,
    InvoiceStatus.VOID,
)


def invoices_for_ticket(ticket: RepairTicket, *, customer_view: bool = True) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(ticket=ticket).prefetch_related("lines").order_by("created_at", "pk")
    return invoices.filter(status__in=CUSTOMER_VISIBLE_INVOICES) if customer_view else invoices


def invoice_for_ticket(ticket: RepairTicket) -> Invoice | None:
    """The ticket's current invoice: the latest one issued, paid or refunded (never a draft or a
    voided one)."""
    return (
        Invoice.objects.filter(
            ticket=ticket, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.REFUNDED]
        )
        .order_by("-issued_at", "-pk")
        .first()
    )


def payable_invoice(ticket: RepairTicket) -> Invoice | None:
    """The invoice the customer may pay online now: issued, unpaid, and either a deposit or the
    repair is ready for pickup. Deposits first."""
    invoices = Invoice.objects.filter(ticket=ticket, status=InvoiceStatus.ISSUED)
    if ticket.status != Status.READY_FOR_PICKUP:
        invoices = invoices.filter(kind=InvoiceKind.DEPOSIT)
    return invoices.order_by("-kind", "issued_at", "pk").first()


def invoice_by_number(number: str) -> Invoice | None:
    return Invoice.objects.select_related("ticket").filter(number=number).first() if number else None


def customer_invoice(ticket: RepairTicket, public_id: str) -> Invoice | None:
    """An invoice of this ticket as its customer may see it (404 otherwise)."""
    return (
        invoices_for_ticket(ticket).filter(public_id=public_id).first()
        if public_id and len(public_id) <= 16
        else None
    )


def invoices_visible_to(user) -> QuerySet[Invoice]:
    """Staff see every invoice; a customer the issued invoices of their own repairs; nobody else
    (technicians included) sees any."""
    invoices = Invoice.objects.select_related("ticket").prefetch_related("lines")
    if not user or not user.is_authenticated:
        return invoices.none()
    if is_shop_staff(user):
        return invoices
    return invoices.filter(ticket__customer__user=user, status__in=CUSTOMER_VISIBLE_INVOICES)


def settling_payment(invoice: Invoice) -> Payment | None:
    """The payment that paid the invoice, if any."""
    return invoice.payments.filter(status__in=SETTLES_INVOICE).order_by("succeeded_at", "pk").first()


def payment_for_ticket(ticket: RepairTicket) -> Payment | None:
    """The most recent payment of any of the ticket's invoices (what a message about "your
    payment" refers to)."""
    return Payment.objects.filter(invoice__ticket=ticket).order_by("-created_at", "-pk").first()


def ticket_payment(ticket: RepairTicket, provider: str, provider_payment_id: str) -> Payment | None:
    """A payment of this ticket by the provider's id (a PaymentIntent or PayPal order id)."""
    if not provider_payment_id:
        return None
    return (
        Payment.objects.select_related("invoice")
        .filter(invoice__ticket=ticket, provider=provider, provider_payment_id=provider_payment_id)
        .first()
    )


@dataclass(frozen=True)
class Revenue:
    currency: str
    #: Money taken by payments that succeeded in the period.
    gross: int = 0
    #: Money given back by refunds completed in the period.
    refunded: int = 0
    payments: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.refunded


def revenue(start: datetime, end: datetime) -> dict[str, Revenue]:
    """Revenue per currency for [start, end): payments by the time they succeeded, refunds by the
    time they were completed (so a refund lowers the period it happens in)."""
    taken = (
        Payment.objects.filter(succeeded_at__gte=start, succeeded_at__lt=end, status__in=SETTLES_INVOICE)
        .values("currency")
        .annotate(gross=Sum("amount_received"), payments=Count("pk"))
    )
    given_back = (
        Refund.objects.filter(status=RefundStatus.SUCCEEDED, completed_at__gte=start, completed_at__lt=end)
        .values("currency")
        .annotate(refunded=Sum("amount"))
    )
    figures: dict[str, dict[str, int]] = {}
    for row in taken:
        figures.setdefault(row["currency"], {}).update(gross=row["gross"] or 0, payments=row["payments"])
    for row in given_back:
        figures.setdefault(row["currency"], {})["refunded"] = row["refunded"] or 0
    return {currency: Revenue(currency=currency, **values) for currency, values in sorted(figures.items())}


def failed_payments_count(start: datetime, end: datetime) -> int:
    """Payment attempts that failed (declined card, denied PayPal capture) in [start, end)."""
    return (
        PaymentStatusChange.objects.filter(
            to_status=PaymentStatus.FAILED, created_at__gte=start, created_at__lt=end
        )
        .values("payment")
        .distinct()
        .count()
    )


def payments_needing_review() -> QuerySet[Payment]:
    return Payment.objects.filter(status=PaymentStatus.NEEDS_REVIEW).select_related("invoice__ticket")


def open_reconciliation_issues() -> QuerySet[ReconciliationIssue]:
    return ReconciliationIssue.objects.filter(resolved=False).select_related("run", "payment")


def online_providers(currency: str) -> list[str]:
    """Providers configured on this site (keys present) that take ``currency``."""
    found = []
    if stripe_configured() and currency.upper() in STRIPE_CURRENCIES:
        found.append(Provider.STRIPE)
    if paypal_configured() and currency.upper() in PAYPAL_CURRENCIES:
        found.append(Provider.PAYPAL)
    return found


@dataclass(frozen=True)
class PayPanel:
    """What the tracking page's payment panel shows."""

    invoice: Invoice | None = None
    can_pay_online: bool = False
    providers: list[str] = field(default_factory=list)
    paid_invoices: list[Invoice] = field(default_factory=list)


def pay_panel(ticket: RepairTicket) -> PayPanel:
    due = payable_invoice(ticket)
    paid = list(
        Invoice.objects.filter(
            ticket=ticket, status__in=[InvoiceStatus.PAID, InvoiceStatus.REFUNDED]
        ).order_by("issued_at")
    )
    if due is None:
        return PayPanel(paid_invoices=paid)
    providers = online_providers(due.currency)
    return PayPanel(invoice=due, can_pay_online=bool(providers), providers=providers, paid_invoices=paid)


def scoring_invoices() -> QuerySet[Invoice]:
    """Issued (not draft, not void) invoices of every customer, for analytics' customer scoring:
    amounts, issue and payment dates; the customer is ``ticket__customer_id``."""
    return Invoice.objects.exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID]).exclude(
        issued_at__isnull=True
    )
