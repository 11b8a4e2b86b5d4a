"""The staff page "customers at risk" (``/dashboard/customers/at-risk/``): anonymous visitors go to the
login page, customers and technicians get a 403."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from repairs.roles import is_shop_staff

from . import selectors
from .models import Segment
from .presentation import SCORE_NAMES, model_panel

SORTS = [
    ("-value_at_risk", "Churn × value (highest first)"),
    ("-churn", "Churn probability (highest first)"),
    ("-clv", "12-month value (highest first)"),
    ("-next_repair", "Next-repair probability (highest first)"),
    ("loyalty", "Loyalty score (lowest first)"),
]


@never_cache
def customers_at_risk(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_shop_staff(request.user):
        raise PermissionDenied("Only shop staff may see customer scores.")
    segment = request.GET.get("segment", Segment.AT_RISK)
    ordering = request.GET.get("ordering", selectors.DEFAULT_ORDERING)
    error, status = "", 200
    try:
        rows = selectors.scores(segment or None, ordering)
    except selectors.BadQuery as exc:
        error, status = str(exc), 400
        segment, ordering = Segment.AT_RISK, selectors.DEFAULT_ORDERING
        rows = selectors.scores(segment, ordering)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "segment": segment,
        "ordering": ordering,
        "segments": Segment.choices,
        "counts": selectors.segment_counts(),
        "sorts": SORTS,
        "error": error,
        "models": model_panel(),
        "score_names": SCORE_NAMES.values(),
    }
    return render(request, "analytics/customers_at_risk.html", context, status=status)
