"""Alerts and alert opt-ins in the analytics admin (imported by analytics/admin.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from ..admin_base import StaffReadOnlyAdmin
from .models import Alert, AlertStatus, AlertSubscription
from .services import detection


@admin.register(Alert)
class AlertAdmin(StaffReadOnlyAdmin):
    list_display = ("started_at", "metric", "direction", "status", "message", "last_seen_at", "resolved_at")
    list_filter = ("status", "metric", "direction")
    readonly_fields = [field.name for field in Alert._meta.fields]
    actions = ["acknowledge", "resolve"]

    @admin.action(description="Acknowledge the selected alerts")
    def acknowledge(self, request: HttpRequest, queryset) -> None:
        for alert in queryset:
            detection.acknowledge(alert, request.user)
        messages.success(request, f"{queryset.count()} alerts acknowledged.")

    @admin.action(description="Resolve the selected open alerts")
    def resolve(self, request: HttpRequest, queryset) -> None:
        open_alerts = list(queryset.filter(status=AlertStatus.OPEN))
        for alert in open_alerts:
            detection.resolve_by_staff(alert, request.user)
        messages.success(request, f"{len(open_alerts)} alerts resolved.")


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(StaffReadOnlyAdmin):
    list_display = ("user", "channel", "created_at")
    list_select_related = ("user",)
