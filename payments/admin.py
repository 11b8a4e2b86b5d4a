"""The workshop admin's payment screens, for shop staff only (technicians never see money).

Nothing here writes a model directly: drafting, issuing and voiding invoices, counter payments,
refunds and reconciliation runs all go through :mod:`payments.services`. The standard change
pages are read-only; actions live on small pages of their own (``…/edit/``, ``…/issue/``,
``…/refund/``, ``reconcile/``), each a GET that shows what will happen and a POST that does it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, re_path, reverse
from django.utils.html import format_html

from repairs.roles import is_shop_staff
from revivatech.admin_mixins import ReadOnlyAdminMixin
from revivatech.money import format_money

from . import services
from .forms import (
    InvoiceForm,
    InvoiceLineFormSet,
    ReconcileForm,
    RefundForm,
    initial_lines,
    lines_from_formset,
)
from .lifecycle import REFUNDABLE, InvoiceStatus
from .models import (
    Invoice,
    InvoiceLine,
    Payment,
    PaymentStatusChange,
    ProviderEvent,
    ReconciliationIssue,
    ReconciliationRun,
    Refund,
)


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


class StaffOnly(ReadOnlyAdminMixin):
    """Read-only for shop staff; invisible to everyone else (technicians included)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_shop_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_shop_staff(request.user)


class StaffOnlyAdmin(StaffOnly, admin.ModelAdmin):
    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context},
        )

    def _staff_or_404(self, request: HttpRequest) -> None:
        if not is_shop_staff(request.user):
            raise Http404


class ReadOnlyInline(StaffOnly, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ("kind", "description", "quantity", "unit", "line_amount")
    readonly_fields = fields

    @admin.display(description="unit price")
    def unit(self, line: InvoiceLine) -> str:
        return format_money(line.unit_amount, line.invoice.currency)

    @admin.display(description="amount")
    def line_amount(self, line: InvoiceLine) -> str:
        return format_money(line.amount, line.invoice.currency)


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("link", "provider", "status", "money", "refunded", "created_at")
    readonly_fields = fields

    @admin.display(description="payment")
    def link(self, payment: Payment) -> str:
        url = reverse("admin:payments_payment_change", args=[payment.pk])
        return format_html('<a href="{}">{}</a>', url, payment.public_id)

    @admin.display(description="amount")
    def money(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)

    @admin.display(description="refunded")
    def refunded(self, payment: Payment) -> str:
        return format_money(payment.amount_refunded, payment.currency) if payment.amount_refunded else ""


@admin.register(Invoice)
class InvoiceAdmin(StaffOnlyAdmin):
    list_display = ("__str__", "ticket", "kind", "status", "total_money", "issued_at", "paid_at")
    list_filter = ("status", "kind", "currency")
    search_fields = ("number", "public_id", "ticket__reference", "billing_name", "billing_email")
    list_select_related = ("ticket",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "number",
        "ticket",
        "kind",
        "status",
        "currency",
        "subtotal_money",
        "tax",
        "total_money",
        "prices_include_tax",
        "billing_name",
        "billing_email",
        "notes",
        "created_by",
        "created_at",
        "issued_at",
        "paid_at",
        "voided_at",
        "customer_link",
    )
    fields = readonly_fields
    inlines = (InvoiceLineInline, PaymentInline)
    change_form_template = "payments/admin/invoice_change_form.html"
    actions = ("issue_selected",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_shop_staff(request.user)

    @admin.display(description="total", ordering="total")
    def total_money(self, invoice: Invoice) -> str:
        return format_money(invoice.total, invoice.currency)

    @admin.display(description="net")
    def subtotal_money(self, invoice: Invoice) -> str:
        return format_money(invoice.subtotal, invoice.currency)

    @admin.display(description="VAT")
    def tax(self, invoice: Invoice) -> str:
        rate = invoice.tax_rate_basis_points / 100
        return f"{format_money(invoice.tax_amount, invoice.currency)} at {rate:g}%"

    @admin.display(description="customer's view")
    def customer_link(self, invoice: Invoice) -> str:
        if invoice.status == InvoiceStatus.DRAFT:
            return "(not visible to the customer until issued)"
        url = reverse("payments:tracked-invoice", args=[invoice.ticket.tracking_token, invoice.public_id])
        return format_html('<a href="{}">Open the invoice as the customer sees it</a>', url)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/edit/", wrap(self.edit_draft_view), name="payments_invoice_edit"),
            re_path(
                r"^(?P<object_id>\d+)/(?P<action>issue|void|counter)/$",
                wrap(self.action_view),
                name="payments_invoice_action",
            ),
            *super().get_urls(),
        ]

    # --- drafting ------------------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        self._staff_or_404(request)
        initial = {"ticket": request.GET.get("ticket", "")}
        form = InvoiceForm(request.POST or None, initial=initial)
        formset = InvoiceLineFormSet(request.POST or None, prefix="lines")
        if request.method == "POST" and form.is_valid() and formset.is_valid():
            invoice = self._save(request, form, formset)
            if invoice is not None:
                return HttpResponseRedirect(reverse("admin:payments_invoice_change", args=[invoice.pk]))
        return self._page(
            request,
            "payments/admin/invoice_form.html",
            "Draft an invoice",
            form=form,
            formset=formset,
            invoice=None,
        )

    def edit_draft_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        self._staff_or_404(request)
        invoice = get_object_or_404(Invoice.objects.select_related("ticket"), pk=object_id)
        if invoice.status != InvoiceStatus.DRAFT:
            messages.error(request, f"Invoice {invoice} is issued; void it and draft a new one to change it.")
            return HttpResponseRedirect(reverse("admin:payments_invoice_change", args=[invoice.pk]))
        initial = {
            "ticket": invoice.ticket.reference,
            "kind": invoice.kind,
            "currency": invoice.currency,
            "tax_rate": invoice.tax_rate_basis_points / 100,
            "prices_include_tax": invoice.prices_include_tax,
            "notes": invoice.notes,
        }
        form = InvoiceForm(request.POST or None, initial=initial, fixed_ticket=invoice.ticket)
        formset = InvoiceLineFormSet(request.POST or None, prefix="lines", initial=initial_lines(invoice))
        if request.method == "POST" and form.is_valid() and formset.is_valid():
            saved = self._save(request, form, formset, invoice=invoice)
            if saved is not None:
                return HttpResponseRedirect(reverse("admin:payments_invoice_change", args=[saved.pk]))
        return self._page(
            request,
            "payments/admin/invoice_form.html",
            f"Edit {invoice}",
            form=form,
            formset=formset,
            invoice=invoice,
        )

    def _save(self, request: HttpRequest, form: InvoiceForm, formset, invoice: Invoice | None = None):
        data = form.cleaned_data
        currency = invoice.currency if invoice else data["currency"]
        try:
            lines = lines_from_formset(formset, currency)
            if invoice is None:
                invoice = services.create_invoice(
                    data["ticket"],
                    kind=data["kind"],
                    lines=None if data["from_quote"] and not lines else lines,
                    currency=currency,
                    tax_rate_basis_points=form.tax_rate_basis_points,
                    prices_include_tax=data["prices_include_tax"],
                    notes=data["notes"],
                    by=request.user,
                )
            else:
                invoice = services.update_draft_invoice(
                    invoice,
                    lines=lines,
                    tax_rate_basis_points=form.tax_rate_basis_points,
                    prices_include_tax=data["prices_include_tax"],
                    notes=data["notes"],
                    by=request.user,
                )
            if "_issue" in request.POST:
                invoice = services.issue_invoice(invoice, by=request.user)
                messages.success(
                    request, f"Invoice {invoice} issued; the customer sees it on their tracking page."
                )
            else:
                messages.success(request, f"{invoice} saved as a draft ({self.total_money(invoice)}).")
            return invoice
        except ValidationError as error:
            form.add_error(None, _errors(error))
            return None

    # --- issue, void, counter payment ------------------------------------------------------------

    INVOICE_ACTIONS = {
        "issue": ("Issue", "The invoice gets its number and appears on the customer's tracking page."),
        "void": (
            "Void",
            "The invoice is withdrawn; a payment that still arrives for it is put under review.",
        ),
        "counter": ("Record payment at the counter", "The customer paid the full total at the shop."),
    }

    def action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        self._staff_or_404(request)
        invoice = get_object_or_404(Invoice.objects.select_related("ticket"), pk=object_id)
        label, explanation = self.INVOICE_ACTIONS[action]
        if request.method == "POST":
            try:
                if action == "issue":
                    services.issue_invoice(invoice, by=request.user)
                elif action == "void":
                    services.void_invoice(invoice, by=request.user, reason=request.POST.get("reason", ""))
                else:
                    services.record_counter_payment(
                        invoice, by=request.user, note=request.POST.get("reason", "")
                    )
            except ValidationError as error:
                messages.error(request, _errors(error))
            else:
                messages.success(request, f"{label}: done for {invoice}.")
            return HttpResponseRedirect(reverse("admin:payments_invoice_change", args=[invoice.pk]))
        return self._page(
            request,
            "payments/admin/confirm.html",
            f"{label}: {invoice}",
            object=invoice,
            label=label,
            explanation=explanation,
            total=self.total_money(invoice),
            ask_reason=action in ("void", "counter"),
            back=reverse("admin:payments_invoice_change", args=[invoice.pk]),
        )

    @admin.action(description="Issue the selected draft invoices")
    def issue_selected(self, request: HttpRequest, queryset) -> None:
        for invoice in queryset:
            try:
                services.issue_invoice(invoice, by=request.user)
            except ValidationError as error:
                messages.error(request, f"{invoice}: {_errors(error)}")
            else:
                messages.success(request, f"{invoice} issued.")


class StatusHistoryInline(ReadOnlyInline):
    model = PaymentStatusChange
    fields = ("created_at", "from_status", "to_status", "source", "note", "changed_by")
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "created_at",
        "amount_money",
        "status",
        "reason",
        "provider_refund_id",
        "requested_by",
        "failure_message",
    )
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_money(self, refund: Refund) -> str:
        return format_money(refund.amount, refund.currency)


class ProviderEventInline(ReadOnlyInline):
    model = ProviderEvent
    fields = ("received_at", "event_type", "event_id", "status", "outcome")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(StaffOnlyAdmin):
    list_display = (
        "public_id",
        "invoice",
        "provider",
        "status",
        "amount_money",
        "refunded_money",
        "created_at",
    )
    list_filter = ("status", "provider", "currency")
    search_fields = (
        "public_id",
        "provider_payment_id",
        "provider_charge_id",
        "invoice__number",
        "invoice__ticket__reference",
    )
    list_select_related = ("invoice",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "public_id",
        "invoice",
        "provider",
        "attempt",
        "status",
        "amount_money",
        "received_money",
        "refunded_money",
        "provider_payment_id",
        "provider_charge_id",
        "idempotency_key",
        "failure_code",
        "failure_message",
        "review_reason",
        "created_by",
        "created_at",
        "succeeded_at",
        "refund_link",
    )
    fields = readonly_fields
    inlines = (StatusHistoryInline, RefundInline, ProviderEventInline)

    @admin.display(description="amount")
    def amount_money(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)

    @admin.display(description="received")
    def received_money(self, payment: Payment) -> str:
        return format_money(payment.amount_received, payment.currency)

    @admin.display(description="refunded")
    def refunded_money(self, payment: Payment) -> str:
        return format_money(payment.amount_refunded, payment.currency)

    @admin.display(description="refund")
    def refund_link(self, payment: Payment) -> str:
        if payment.status not in REFUNDABLE or payment.refundable_amount <= 0:
            return "Nothing to refund."
        url = reverse("admin:payments_payment_refund", args=[payment.pk])
        left = format_money(payment.refundable_amount, payment.currency)
        return format_html('<a class="button" href="{}">Refund (up to {})…</a>', url, left)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/refund/", wrap(self.refund_view), name="payments_payment_refund"),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """A full or partial refund through the provider's API."""
        self._staff_or_404(request)
        payment = get_object_or_404(Payment.objects.select_related("invoice__ticket"), pk=object_id)
        form = RefundForm(request.POST or None, payment=payment)
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.refund_payment(
                    payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, _errors(error))
            else:
                money = format_money(refund.amount, refund.currency)
                messages.success(request, f"Refunded {money} ({refund.get_status_display().lower()}).")
                return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[payment.pk]))
        return self._page(
            request,
            "payments/admin/refund.html",
            f"Refund {payment}",
            object=payment,
            form=form,
            left=format_money(payment.refundable_amount, payment.currency),
            back=reverse("admin:payments_payment_change", args=[payment.pk]),
        )


@admin.register(ProviderEvent)
class ProviderEventAdmin(StaffOnlyAdmin):
    list_display = ("received_at", "provider", "event_type", "status", "payment", "attempts", "outcome")
    list_filter = ("provider", "status", "event_type")
    search_fields = ("event_id", "payment__public_id", "payment__provider_payment_id")
    date_hierarchy = "received_at"
    readonly_fields = (
        "provider",
        "event_id",
        "event_type",
        "status",
        "outcome",
        "payment",
        "attempts",
        "received_at",
        "processed_at",
        "payload",
    )
    fields = readonly_fields


class IssueInline(ReadOnlyInline):
    model = ReconciliationIssue
    fields = (
        "provider",
        "kind",
        "provider_payment_id",
        "payment",
        "local_status",
        "remote_status",
        "detail",
        "resolved",
    )
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(StaffOnlyAdmin):
    list_display = (
        "started_at",
        "providers",
        "since",
        "until",
        "issue_count",
        "checked_local",
        "checked_remote",
        "errors",
    )
    readonly_fields = (
        "started_at",
        "finished_at",
        "since",
        "until",
        "providers",
        "checked_local",
        "checked_remote",
        "errors",
        "started_by",
    )
    fields = readonly_fields
    inlines = (IssueInline,)
    change_list_template = "payments/admin/reconciliation_changelist.html"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(issue_total=models.Count("issues"))

    @admin.display(description="mismatches", ordering="issue_total")
    def issue_count(self, run: ReconciliationRun) -> int:
        return run.issue_total

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("run/", wrap(self.run_view), name="payments_reconciliationrun_run"),
            *super().get_urls(),
        ]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        self._staff_or_404(request)
        configured = services.configured_providers()
        form = ReconcileForm(request.POST or None, configured=configured)
        if request.method == "POST" and form.is_valid():
            since, until = form.window()
            run = services.reconcile_payments(
                since=since, until=until, providers=form.cleaned_data["providers"], by=request.user
            )
            count = run.issues.count()
            (messages.warning if count or run.errors else messages.success)(
                request,
                f"Reconciliation done: {count} mismatch{'es' if count != 1 else ''}. {run.errors}".strip(),
            )
            return HttpResponseRedirect(reverse("admin:payments_reconciliationrun_change", args=[run.pk]))
        return self._page(
            request,
            "payments/admin/reconcile.html",
            "Reconcile payments with the providers",
            form=form,
            configured=configured,
        )


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(StaffOnlyAdmin):
    list_display = ("run", "provider", "kind", "provider_payment_id", "payment", "detail", "resolved")
    list_filter = ("resolved", "kind", "provider")
    search_fields = ("provider_payment_id", "payment__public_id", "detail")
    readonly_fields = (
        "run",
        "provider",
        "kind",
        "provider_payment_id",
        "payment",
        "local_amount",
        "remote_amount",
        "currency",
        "local_status",
        "remote_status",
        "detail",
        "resolved",
    )
    fields = readonly_fields
    actions = ("mark_resolved",)

    @admin.action(description="Mark the selected mismatches as resolved")
    def mark_resolved(self, request: HttpRequest, queryset) -> None:
        count = services.resolve_reconciliation_issues(queryset, by=request.user)
        messages.success(request, f"{count} mismatch{'es' if count != 1 else ''} marked resolved.")
