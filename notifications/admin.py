"""The notifications admin for shop staff: the outbox (dead letters re-queueable), a ticket's
delivery timeline, delivery statistics, templates (versioned, with a preview), automation rules
and push devices. Writes go through the services; outbox rows are never added or deleted here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.clickjacking import xframe_options_sameorigin

from repairs.models import RepairTicket
from revivatech.events import EventKind

from . import selectors
from .forms import MessageTemplateForm
from .models import (
    REQUEUEABLE_STATUSES,
    AutomationRule,
    Channel,
    DeliveryEvent,
    DispatchMode,
    Message,
    MessageStatus,
    MessageTemplate,
    NotificationPreference,
    PushDevice,
    QuietHours,
    TemplateVersion,
)
from .services import delivery, push_devices
from .services import templates as template_service
from .services.context import message_context, sample_context

#: The email preview frame's own policy (replacing the site's for that one response): the email's
#: inline <style> applies, no script runs, images only from here or inline, framed by this site only.
EMAIL_PREVIEW_CSP = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "script-src": ["'none'"],
    "connect-src": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
    "sandbox": True,  # a unique origin even if opened outside the frame
}

ADMIN_CSS = {"all": ["notifications/admin.css"]}


# --- the outbox ------------------------------------------------------------------------------------


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("dead", "Dead letters"),
            ("failed", "Failed or bounced"),
            ("unknown", "Outcome unknown (worker stopped mid-send)"),
            ("waiting", "Queued or sending"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        value = self.value()
        if value == "dead":
            return queryset.filter(status=MessageStatus.DEAD)
        if value == "failed":
            return queryset.filter(status__in=[MessageStatus.FAILED, MessageStatus.BOUNCED])
        if value == "unknown":
            return queryset.filter(outcome_unknown=True)
        if value == "waiting":
            return queryset.filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
        return queryset


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "source", "kind", "status", "event_id", "detail"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    change_list_template = "notifications/admin/message_change_list.html"
    list_display = [
        "created_at",
        "channel",
        "recipient_short",
        "template_label",
        "priority",
        "status_badge",
        "attempts",
        "provider",
        "ticket_link",
        "error_short",
    ]
    list_filter = [NeedsAttentionFilter, "status", "channel", "priority", "kind", "provider"]
    search_fields = [
        "recipient",
        "ticket_reference",
        "idempotency_key",
        "provider_message_id",
        "template_key",
    ]
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["requeue_selected"]
    inlines = [DeliveryEventInline]
    fieldsets = [
        (
            None,
            {"fields": ["status", "channel", "kind", "priority", "recipient", "ticket_reference", "token"]},
        ),
        ("Content", {"fields": ["template_key", "template_version", "subject", "body_text", "html_preview"]}),
        (
            "Delivery",
            {
                "fields": [
                    "attempts",
                    "max_attempts",
                    "not_before",
                    "provider",
                    "provider_message_id",
                    "last_error",
                    "outcome_unknown",
                    "idempotency_key",
                    "created_at",
                    "sent_at",
                    "delivered_at",
                    "opened_at",
                    "clicked_at",
                    "failed_at",
                ]
            },
        ),
    ]

    class Media:
        css = ADMIN_CSS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an outbox row is the record that a message was (or was not) sent

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.display(description="recipient", ordering="recipient")
    def recipient_short(self, obj: Message) -> str:
        return obj.recipient if len(obj.recipient) <= 40 else f"…{obj.recipient[-16:]}"

    @admin.display(description="template", ordering="template_key")
    def template_label(self, obj: Message) -> str:
        return f"{obj.template_key} v{obj.template_version}" if obj.template_key else "—"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Message) -> str:
        label = obj.get_status_display() + (" (outcome unknown)" if obj.outcome_unknown else "")
        return format_html('<span class="notif-status notif-status--{}">{}</span>', obj.status, label)

    @admin.display(description="repair", ordering="ticket_reference")
    def ticket_link(self, obj: Message) -> str:
        if not obj.ticket_reference:
            return "—"
        url = reverse("admin:notifications_message_ticket_timeline", args=[obj.ticket_reference])
        return format_html('<a href="{}" title="Delivery timeline">{}</a>', url, obj.ticket_reference)

    @admin.display(description="last error")
    def error_short(self, obj: Message) -> str:
        return obj.last_error if len(obj.last_error) <= 60 else obj.last_error[:59] + "…"

    @admin.display(description="HTML")
    def html_preview(self, obj: Message) -> str:
        if not obj.body_html:
            return "—"
        return format_html(
            '<iframe class="notif-preview-frame" sandbox="" title="Email as sent" srcdoc="{}"></iframe>',
            obj.body_html,
        )

    @admin.action(
        description="Re-queue the selected dead, failed or bounced messages", permissions=["change"]
    )
    def requeue_selected(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        chosen = list(queryset.filter(status__in=REQUEUEABLE_STATUSES).values_list("pk", flat=True))
        skipped = queryset.count() - len(chosen)
        count = delivery.requeue(chosen, by=request.user)
        self.message_user(request, f"{count} message(s) are back in the queue.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} message(s) were not dead, failed or bounced, so they were left alone.",
                messages.WARNING,
            )

    def get_urls(self):
        return [
            path(
                "ticket/<str:reference>/",
                self.admin_site.admin_view(self.ticket_timeline_view),
                name="notifications_message_ticket_timeline",
            ),
            path("stats/", self.admin_site.admin_view(self.stats_view), name="notifications_message_stats"),
            *super().get_urls(),
        ]

    def ticket_timeline_view(self, request: HttpRequest, reference: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        reference = reference.upper()[:12]
        timeline = list(selectors.messages_for_ticket(reference))
        ticket = RepairTicket.objects.filter(reference=reference).only("pk", "reference").first()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Messages about {reference}",
            "reference": reference,
            "ticket_admin_url": reverse("admin:repairs_repairticket_change", args=[ticket.pk])
            if ticket
            else "",
            "timeline": timeline,
            "opts": self.model._meta,
            "media": self.media,
        }
        return TemplateResponse(request, "notifications/admin/ticket_timeline.html", context)

    def stats_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 30)), 1), 3660)
        except ValueError:
            days = 30
        context = {
            **self.admin_site.each_context(request),
            "title": "Delivery statistics",
            "days": days,
            "stats": selectors.delivery_stats(days=days),
            "counts": sorted(selectors.outbox_counts().items()),
            "opts": self.model._meta,
            "media": self.media,
        }
        return TemplateResponse(request, "notifications/admin/stats.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        counts = selectors.outbox_counts()
        extra_context = {
            **(extra_context or {}),
            "dead_count": counts.get(MessageStatus.DEAD, 0),
            "waiting_count": counts.get(MessageStatus.QUEUED, 0) + counts.get(MessageStatus.SENDING, 0),
        }
        return super().changelist_view(request, extra_context)


# --- templates -------------------------------------------------------------------------------------


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    extra = 0
    can_delete = False
    fields = ["version", "created_at", "created_by", "subject"]
    readonly_fields = fields
    ordering = ["-version"]
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    change_form_template = "notifications/admin/template_change_form.html"
    list_display = ["name", "key", "kind", "version", "channels_label", "updated_at", "updated_by"]
    list_filter = ["kind"]
    search_fields = ["name", "key", "subject"]
    readonly_fields = ["version", "updated_at", "updated_by"]
    inlines = [TemplateVersionInline]
    fieldsets = [
        (None, {"fields": ["name", "key", "kind", "description", "version", "updated_at", "updated_by"]}),
        (
            "Email",
            {
                "fields": ["subject", "body_text", "body_html"],
                "description": (
                    "Django template language. Available: {{ customer.first_name }}, {{ customer.name }}, "
                    "{{ ticket.reference }}, {{ ticket.device }}, {{ ticket.status_label }}, "
                    "{{ ticket.status_sentence }}, {{ ticket.progress_percent }}, {{ ticket.tracking_url }}, "
                    "{{ ticket.quote }}, {{ event.money }}, {{ event.note }}, {{ event.caption }}, "
                    "{{ event.to_label }}, {{ event.display.title }}, {{ shop_name }}, {{ site_url }}."
                ),
            },
        ),
        ("Text message", {"fields": ["sms_body"]}),
        ("Push notification", {"fields": ["push_title", "push_body"]}),
    ]

    class Media:
        css = ADMIN_CSS

    @admin.display(description="channels")
    def channels_label(self, obj: MessageTemplate) -> str:
        return ", ".join(
            str(Channel(channel).label)
            for channel in Channel.values
            if template_service.template_supports(obj, channel)
        )

    def save_model(
        self, request: HttpRequest, obj: MessageTemplate, form: forms.ModelForm, change: bool
    ) -> None:
        template_service.save_template(obj, by=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # messages and rules refer to templates; change the wording instead

    def get_urls(self):
        return [
            path(
                "<int:template_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_messagetemplate_preview",
            ),
            path(
                "<int:template_id>/preview/email.html",
                self.admin_site.admin_view(self.preview_email_view),
                name="notifications_messagetemplate_preview_email",
            ),
            *super().get_urls(),
        ]

    def _preview_context(self, request: HttpRequest) -> tuple[dict, str, str]:
        """The data a preview renders with: a real repair's (?ticket=RT-…) or sample data."""
        reference = request.GET.get("ticket", "").strip().upper()[:12]
        ticket = None
        error = ""
        if reference:
            ticket = (
                RepairTicket.objects.select_related("customer", "device").filter(reference=reference).first()
            )
            if ticket is None:
                error = f"No repair {reference}; showing sample data."
        context = (
            message_context(
                ticket.customer,
                ticket=ticket,
                event_name=EventKind.STATUS_CHANGED,
                payload={"to": ticket.status, "from": ticket.status},
            )
            if ticket
            else sample_context()
        )
        return context, reference, error

    @method_decorator(xframe_options_sameorigin)
    def preview_email_view(self, request: HttpRequest, template_id: int) -> HttpResponse:
        """The email's HTML alone, for the preview page's sandboxed frame, with its own policy:
        the email's inline styles apply (as in the customer's mail client), nothing runs, and only
        this site's admin may frame it. (A srcdoc frame would inherit the admin page's CSP, which
        blocks inline styles, so staff saw the email unstyled.)"""
        template = MessageTemplate.objects.filter(pk=template_id).first()
        if template is None or not self.has_view_permission(request, template):
            raise PermissionDenied
        context, _, _ = self._preview_context(request)
        result = template_service.preview(template, context).get(Channel.EMAIL)
        body = result.body_html if isinstance(result, template_service.Rendered) else ""
        response = HttpResponse(
            body or "<p>No HTML for this email.</p>", content_type="text/html; charset=utf-8"
        )
        response._csp_replace = EMAIL_PREVIEW_CSP
        response["Cache-Control"] = "private, no-store"
        return response

    def preview_view(self, request: HttpRequest, template_id: int) -> HttpResponse:
        template = MessageTemplate.objects.filter(pk=template_id).first()
        if template is None or not self.has_view_permission(request, template):
            raise PermissionDenied
        context, reference, error = self._preview_context(request)
        rendered = template_service.preview(template, context)
        email_frame_url = reverse("admin:notifications_messagetemplate_preview_email", args=[template.pk])
        if reference:
            email_frame_url += "?" + urlencode({"ticket": reference})
        return TemplateResponse(
            request,
            "notifications/admin/template_preview.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Preview: {template.name} (v{template.version})",
                "template_obj": template,
                "reference": reference,
                "error": error,
                "email_frame_url": email_frame_url,
                "rendered": [(Channel(channel).label, result) for channel, result in rendered.items()],
                "opts": self.model._meta,
                "media": self.media,
            },
        )


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin):
    list_display = ["template", "version", "created_at", "created_by", "subject"]
    list_filter = ["template"]
    readonly_fields = [
        "template",
        "version",
        "created_at",
        "created_by",
        "subject",
        "body_text",
        "body_html",
        "sms_body",
        "push_title",
        "push_body",
    ]
    actions = ["restore"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Make the selected version current again (saved as a new version)")
    def restore(self, request: HttpRequest, queryset: QuerySet[TemplateVersion]) -> None:
        if not request.user.has_perm("notifications.change_messagetemplate"):
            raise PermissionDenied
        for version in queryset:
            template = template_service.restore_version(version, by=request.user)
            self.message_user(
                request, f"{template.name} now reads as v{version.version} (saved as v{template.version})."
            )


# --- automation -----------------------------------------------------------------------------------


class AutomationRuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For fallback, the order is push, then SMS, then email unless you set it below.",
    )
    channel_order = forms.CharField(
        required=False,
        help_text='Optional order, e.g. "push, sms, email" (fallback tries them in this order).',
    )

    class Meta:
        model = AutomationRule
        fields = ["name", "event", "to_status", "template", "mode", "channels", "priority", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["channel_order"] = ", ".join(self.instance.channels)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        order = [c.strip() for c in (data.get("channel_order") or "").split(",") if c.strip()]
        unknown = [c for c in order if c not in Channel.values]
        if unknown:
            self.add_error(
                "channel_order", f"Unknown channel {unknown[0]!r}; use {', '.join(Channel.values)}."
            )
        chosen = list(data.get("channels") or [])
        if order:
            chosen = order + [c for c in chosen if c not in order]
        elif data.get("mode") == DispatchMode.FALLBACK:
            chosen = [c for c in ("push", "sms", "email") if c in chosen]
        data["channels"] = chosen
        if data.get("mode") in (DispatchMode.CHOSEN, DispatchMode.FALLBACK) and not chosen:
            self.add_error("channels", "Choose at least one channel for this mode.")
        if data.get("to_status") and data.get("event") != EventKind.STATUS_CHANGED:
            self.add_error("to_status", "A status only applies to the “Status changed” event.")
        return data


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    form = AutomationRuleForm
    list_display = ["name", "event", "to_status", "template", "mode", "channels_label", "priority", "enabled"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "event", "priority", "mode"]
    actions = ["enable", "disable"]
    fields = [
        "name",
        "event",
        "to_status",
        "template",
        "mode",
        "channels",
        "channel_order",
        "priority",
        "enabled",
    ]

    @admin.display(description="channels")
    def channels_label(self, obj: AutomationRule) -> str:
        return ", ".join(obj.channels) or "all allowed"

    @admin.action(description="Enable the selected rules")
    def enable(self, request: HttpRequest, queryset: QuerySet[AutomationRule]) -> None:
        self.message_user(request, f"{queryset.update(enabled=True)} rule(s) enabled.")

    @admin.action(description="Disable the selected rules")
    def disable(self, request: HttpRequest, queryset: QuerySet[AutomationRule]) -> None:
        self.message_user(request, f"{queryset.update(enabled=False)} rule(s) disabled.")


# --- customers' devices and choices (read only, for support) --------------------------------------


@admin.register(PushDevice)
class PushDeviceAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        "platform",
        "token_kind",
        "label",
        "active",
        "last_seen_at",
        "deactivation_reason",
    ]
    list_filter = ["active", "platform", "token_kind"]
    search_fields = ["customer__email", "customer__name", "label"]
    readonly_fields = [f.name for f in PushDevice._meta.fields]
    actions = ["deactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Stop sending push notifications to the selected devices")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[PushDevice]) -> None:
        count = sum(
            push_devices.deactivate_device(d.pk, reason=f"deactivated by {request.user}") for d in queryset
        )
        self.message_user(request, f"{count} device(s) deactivated.")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "channel", "enabled", "updated_at"]
    list_filter = ["kind", "channel", "enabled"]
    search_fields = ["customer__email", "customer__name"]
    readonly_fields = ["customer", "kind", "channel", "enabled", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # customers choose for themselves


@admin.register(QuietHours)
class QuietHoursAdmin(admin.ModelAdmin):
    list_display = ["customer", "enabled", "start", "end", "updated_at"]
    search_fields = ["customer__email", "customer__name"]
    readonly_fields = ["customer", "enabled", "start", "end", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
