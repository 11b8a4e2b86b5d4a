"""Staff roll features out here: waffle's flag form plus named customers, and the flag's history of
changes (who, when, from what to what) under it."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join
from waffle.admin import FlagAdmin as WaffleFlagAdmin
from waffle.models import Flag

from revivatech.admin_mixins import ReadOnlyAdminMixin

from . import REGISTRY, services
from .models import FlagChange, FlagCustomers


class FlagCustomersInline(admin.StackedInline):
    model = FlagCustomers
    can_delete = False
    max_num = 1
    verbose_name_plural = "named customers (always on for them)"


@admin.register(Flag)
class FlagAdmin(WaffleFlagAdmin):
    inlines = [FlagCustomersInline]
    fieldsets = (
        (None, {"fields": ("name", "note", "everyone")}),
        ("Gradual rollout", {"fields": ("percent", "users", "groups", "staff", "superusers")}),
        (
            "Advanced",
            {"classes": ("collapse",), "fields": ("authenticated", "testing", "rollout", "languages")},
        ),
    )
    readonly_fields = ("history",)

    def get_fieldsets(self, request, obj=None):
        return (*self.fieldsets, ("History", {"fields": ("history",)})) if obj else self.fieldsets

    @admin.display(description="changes (newest first)")
    def history(self, obj):
        rows = FlagChange.objects.filter(flag_name=obj.name)[:50]
        return (
            format_html_join(
                "\n",
                "<div>{} — {}: {}</div>",
                ((f"{c.changed_at:%Y-%m-%d %H:%M}", c.changed_by or "—", c.changes) for c in rows),
            )
            or "no changes yet"
        )

    def save_model(self, request, obj, form, change):
        request._flag_before = services.snapshot(Flag.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # users, groups, named customers
        services.record_change(form.instance, before=request._flag_before, by=request.user)

    def changelist_view(self, request, extra_context=None):
        features = sorted(REGISTRY.values(), key=lambda f: f.name)
        return super().changelist_view(request, {**(extra_context or {}), "features": features})


@admin.register(FlagChange)
class FlagChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("flag_name", "changed_at", "changed_by", "changes")
    list_filter = ("flag_name",)
