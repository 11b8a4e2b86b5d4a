"""Analytics in the workshop admin (shop staff only, read-only), and the GDPR tools: export a
customer's personal data as a JSON archive, or erase it, across every app."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import cached_property

from repairs.roles import is_shop_staff

from .admin_base import StaffReadOnlyAdmin
from .models import ConsentRecord, CustomerPersonalData, DeadLetterBatch, Session, TrackedDevice
from .monitoring import admin as monitoring_admin  # noqa: F401  (alerts and alert opt-ins)
from .scoring import admin as scoring_admin  # noqa: F401  (scoring models and customer scores)
from .services import deadletters
from .services.gdpr import archive_json, erase_customer, export_customer


class EstimatedCountPaginator(Paginator):
    """Unfiltered counts of big tables come from PostgreSQL's statistics, not ``COUNT(*)``."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


@admin.register(DeadLetterBatch)
class DeadLetterBatchAdmin(StaffReadOnlyAdmin):
    """Batches the flusher set aside (with the reason) so that the others were stored. Staff replay
    them once the cause is fixed, or delete them."""

    list_display = ("created_at", "source", "entry_id", "short_reason", "attempts", "replayed_at")
    list_filter = ("source", ("replayed_at", admin.EmptyFieldListFilter))
    readonly_fields = ("created_at", "source", "entry_id", "reason", "attempts", "replayed_at", "payload")
    actions = ["replay"]

    @admin.display(description="reason")
    def short_reason(self, letter: DeadLetterBatch) -> str:
        return letter.reason[:120]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user)

    @admin.action(description="Store the selected batches again")
    def replay(self, request: HttpRequest, queryset) -> None:
        stored = failed = 0
        for letter in queryset.filter(replayed_at__isnull=True):
            if deadletters.replay(letter):
                stored += 1
            else:
                failed += 1
        self.message_user(request, f"Stored {stored} batches again.", messages.SUCCESS)
        if failed:
            self.message_user(request, f"{failed} still fail: see their reason.", messages.WARNING)


@admin.register(Session)
class SessionAdmin(StaffReadOnlyAdmin):
    list_display = (
        "started_at",
        "entry_path",
        "exit_path",
        "pageviews",
        "duration",
        "is_bounce",
        "converted",
        "device_type",
        "browser",
        "country",
        "customer",
    )
    list_filter = ("device_type", "is_bounce", "converted")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_select_related = ("customer",)
    readonly_fields = [field.name for field in Session._meta.fields]

    @admin.display(description="duration (s)")
    def duration(self, obj: Session) -> int:
        return obj.duration_seconds


@admin.register(TrackedDevice)
class TrackedDeviceAdmin(StaffReadOnlyAdmin):
    list_display = (
        "id",
        "customer",
        "device_type",
        "browser",
        "os",
        "screen",
        "time_zone",
        "language",
        "last_seen_at",
    )
    list_select_related = ("customer",)
    readonly_fields = [field.name for field in TrackedDevice._meta.fields]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(StaffReadOnlyAdmin):
    list_display = ("created_at", "granted", "version", "device_id", "customer")
    list_filter = ("granted", "version")
    list_select_related = ("customer",)
    readonly_fields = [field.name for field in ConsentRecord._meta.fields]


@admin.register(CustomerPersonalData)
class CustomerPersonalDataAdmin(StaffReadOnlyAdmin):
    """Pick customers, then export their archive or erase them (with a confirmation page)."""

    list_display = ("id", "name", "email", "phone", "created_at")
    search_fields = ("name", "email", "phone")
    actions = ["export_personal_data", "erase_personal_data"]
    fields = ("name", "email", "phone", "created_at")
    readonly_fields = fields

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        if not is_shop_staff(request.user):
            return {}
        return actions

    @admin.action(description="Export personal data (JSON archive)")
    def export_personal_data(self, request: HttpRequest, queryset) -> HttpResponse:
        archives = [export_customer(customer) for customer in queryset.order_by("pk")]
        body = (
            archives[0]
            if len(archives) == 1
            else {"format": "revivatech-personal-data/1", "archives": archives}
        )
        name = (
            f"customer-{archives[0]['customer_id']}" if len(archives) == 1 else f"customers-{len(archives)}"
        )
        response = HttpResponse(archive_json(body), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d}.json"'
        return response

    @admin.action(description="Erase personal data (every app; cannot be undone)")
    def erase_personal_data(self, request: HttpRequest, queryset):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "analytics/admin/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Erase personal data?",
                    "customers": queryset,
                    "action": "erase_personal_data",
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        erased = 0
        for customer in queryset.order_by("pk"):
            erase_customer(customer)
            erased += 1
        self.message_user(
            request, f"Erased the personal data of {erased} customer(s) in every app.", messages.SUCCESS
        )
        return None
