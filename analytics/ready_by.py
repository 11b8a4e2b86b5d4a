"""Staff page: the repairs that are late, at risk or due soon, and how the ready-by estimates compare
with reality week by week (reads repairs.readyby.selectors only)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from repairs.readyby import selectors
from repairs.roles import is_shop_staff


@never_cache
def ready_by(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_shop_staff(request.user):
        raise PermissionDenied("Only shop staff may see the ready-by overview.")
    weeks = selectors.accuracy_by_week(weeks=12)
    total = sum(w["repairs"] for w in weeks)
    context = {
        "watch": selectors.watch_list(),
        "weeks": weeks,
        "overall": {
            "repairs": total,
            "mae_hours": round(sum(w["mae_hours"] * w["repairs"] for w in weeks) / total, 1)
            if total
            else None,
            "coverage": round(sum(w["coverage"] * w["repairs"] for w in weeks) / total, 2) if total else None,
        },
        "model": selectors.latest_model(),
    }
    return render(request, "analytics/ready_by.html", context)
