"""Admin of customer scoring: trained models (read-only, with their metrics) and current scores,
with "train now" / "score now" actions. The panel on the customer's page is a template override
(templates/admin/repairs/customer/change_form.html) rendered by analytics' ``scoring_tags``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from repairs.roles import is_shop_staff

from ..admin_base import StaffReadOnlyAdmin
from . import services
from .models import CustomerScore, ScoringModel
from .training import NotEnoughData


# Both actions act on the whole shop whatever rows are ticked (tick any one); the very first training
# is `manage.py score_customers --train` (or the weekly task), since the lists start empty.
@admin.action(description="Train the models now, then score every customer")
def train_and_score_now(modeladmin, request: HttpRequest, queryset) -> None:
    try:
        run = services.train_and_score()
    except (NotEnoughData, services.NoModels) as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    modeladmin.message_user(
        request, f"Trained and scored {run.scored} customers (models {run.model_versions})."
    )


@admin.action(description="Score every customer now (newest models)")
def score_now(modeladmin, request: HttpRequest, queryset) -> None:
    try:
        run = services.score_customers()
    except services.NoModels as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    modeladmin.message_user(request, f"Scored {run.scored} customers.")


@admin.register(ScoringModel)
class ScoringModelAdmin(StaffReadOnlyAdmin):
    list_display = (
        "kind",
        "version",
        "trained_at",
        "window_days",
        "test_cutoff",
        "train_rows",
        "test_rows",
        "metrics",
    )
    list_filter = ("kind",)
    exclude = ("blob",)
    actions = (train_and_score_now, score_now)

    def get_actions(self, request):
        actions = super().get_actions(request)
        return actions if is_shop_staff(request.user) else {}


@admin.register(CustomerScore)
class CustomerScoreAdmin(StaffReadOnlyAdmin):
    list_display = (
        "customer",
        "segment",
        "churn_probability",
        "clv_12m",
        "value_at_risk",
        "next_repair_probability",
        "engagement",
        "conversion",
        "loyalty",
        "value",
        "scored_at",
    )
    list_filter = ("segment",)
    search_fields = ("customer__name", "customer__email")
    list_select_related = ("customer",)
    actions = (score_now,)
