"""Per-customer features as of a cut-off date, and the labels of the window after it.

Everything is read through the other apps' selectors with one aggregate query per source (grouped
by customer, with conditional counts for the time windows), so the cost does not grow with the
number of customers in queries: about ten queries per cut-off, whatever the size of the shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, Max, Min, Q, Sum

from notifications import selectors as notification_selectors
from payments import selectors as payment_selectors
from repairs import selectors as repair_selectors
from repairs.models import QuoteDecision

from ..models import Session
from .devices import device_age_years

#: Feature names, in the column order of the matrix. Durations are in days, money in minor units.
FEATURES: list[str] = [
    "recency_days",
    "tenure_days",
    "tickets_total",
    "tickets_12m",
    "tickets_90d",
    "monetary_total",
    "monetary_12m",
    "avg_invoice",
    "quote_approval_ratio",
    "quotes_declined",
    "unpaid_invoices",
    "devices",
    "max_device_age_years",
    "mean_device_age_years",
    "devices_over_3y",
    "quality_checks_failed",
    "sessions_90d",
    "pageviews_90d",
    "sessions_365d",
    "days_since_last_visit",
    "emails_12m",
    "email_open_rate",
    "marketing_opt_out",
]
#: Value of "days since" features when the thing never happened.
NEVER_DAYS = 1000.0

DESCRIPTIONS: dict[str, str] = {
    "recency_days": "days since the last repair was booked",
    "tenure_days": "days since the first repair (or sign-up)",
    "tickets_total": "repairs booked so far",
    "tickets_12m": "repairs booked in the last 12 months",
    "tickets_90d": "repairs booked in the last 90 days",
    "monetary_total": "paid so far (minor units)",
    "monetary_12m": "paid in the last 12 months (minor units)",
    "avg_invoice": "average invoice (minor units)",
    "quote_approval_ratio": "share of quotes approved",
    "quotes_declined": "quotes declined",
    "unpaid_invoices": "invoices issued and not paid",
    "devices": "devices registered",
    "max_device_age_years": "age of the oldest device (years)",
    "mean_device_age_years": "average device age (years)",
    "devices_over_3y": "devices older than 3 years",
    "quality_checks_failed": "quality checks failed on their repairs",
    "sessions_90d": "site visits in the last 90 days",
    "pageviews_90d": "pages viewed in the last 90 days",
    "sessions_365d": "site visits in the last 12 months",
    "days_since_last_visit": "days since the last site visit",
    "emails_12m": "emails sent in the last 12 months",
    "email_open_rate": "share of emails opened (12 months)",
    "marketing_opt_out": "switched marketing email off",
}


@dataclass
class FeatureMatrix:
    as_of: datetime
    customer_ids: np.ndarray  # int64, sorted
    X: np.ndarray  # float64, shape (customers, len(FEATURES))
    has_history: np.ndarray  # bool: at least one repair before the cut-off

    def row(self, customer_id: int) -> dict[str, float]:
        index = int(np.searchsorted(self.customer_ids, customer_id))
        if index >= len(self.customer_ids) or self.customer_ids[index] != customer_id:
            raise KeyError(customer_id)
        return {name: float(value) for name, value in zip(FEATURES, self.X[index], strict=True)}


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400.0


def compute_features(as_of: datetime, customer_ids: list[int] | None = None) -> FeatureMatrix:
    """Features of every customer who existed at ``as_of`` (or of the given ones), from data before it."""
    year_ago, quarter_ago = as_of - timedelta(days=365), as_of - timedelta(days=90)
    customers = repair_selectors.scoring_customers().filter(created_at__lt=as_of)
    if customer_ids is not None:
        customers = customers.filter(pk__in=customer_ids)
    rows = list(customers.order_by("pk").values_list("pk", "created_at"))
    ids = np.array([pk for pk, _ in rows], dtype=np.int64)
    index = {pk: i for i, (pk, _) in enumerate(rows)}
    X = np.zeros((len(ids), len(FEATURES)), dtype=np.float64)
    col = {name: i for i, name in enumerate(FEATURES)}
    has_history = np.zeros(len(ids), dtype=bool)

    def put(customer_id: int, name: str, value: float | None) -> None:
        i = index.get(customer_id)
        if i is not None and value is not None:
            X[i, col[name]] = float(value)

    for pk, created_at in rows:
        put(pk, "tenure_days", _days(as_of - created_at))
        put(pk, "recency_days", _days(as_of - created_at))
        put(pk, "days_since_last_visit", NEVER_DAYS)

    decided = Q(quote_decided_at__lt=as_of)
    tickets = (
        repair_selectors.scoring_tickets()
        .filter(created_at__lt=as_of, customer_id__in=customers.values("pk"))
        .values("customer_id")
        .annotate(
            n=Count("pk"),
            n_12m=Count("pk", filter=Q(created_at__gte=year_ago)),
            n_90d=Count("pk", filter=Q(created_at__gte=quarter_ago)),
            first=Min("created_at"),
            last=Max("created_at"),
            approved=Count("pk", filter=decided & Q(quote_decision=QuoteDecision.APPROVED)),
            declined=Count("pk", filter=decided & Q(quote_decision=QuoteDecision.DECLINED)),
        )
    )
    for t in tickets:
        cid = t["customer_id"]
        if cid in index:
            has_history[index[cid]] = True
        put(cid, "tickets_total", t["n"])
        put(cid, "tickets_12m", t["n_12m"])
        put(cid, "tickets_90d", t["n_90d"])
        put(cid, "recency_days", _days(as_of - t["last"]))
        put(cid, "tenure_days", _days(as_of - min(t["first"], rows[index[cid]][1])) if cid in index else None)
        decisions = t["approved"] + t["declined"]
        put(cid, "quote_approval_ratio", t["approved"] / decisions if decisions else 0.5)
        put(cid, "quotes_declined", t["declined"])

    paid = Q(paid_at__lt=as_of)
    invoices = (
        payment_selectors.scoring_invoices()
        .filter(issued_at__lt=as_of, ticket__customer_id__in=customers.values("pk"))
        .values("ticket__customer_id")
        .annotate(
            paid_total=Sum("total", filter=paid),
            paid_12m=Sum("total", filter=paid & Q(paid_at__gte=year_ago)),
            paid_count=Count("pk", filter=paid),
            unpaid=Count("pk", filter=Q(paid_at__isnull=True) | Q(paid_at__gte=as_of)),
        )
    )
    for inv in invoices:
        cid = inv["ticket__customer_id"]
        put(cid, "monetary_total", inv["paid_total"] or 0)
        put(cid, "monetary_12m", inv["paid_12m"] or 0)
        put(cid, "avg_invoice", (inv["paid_total"] or 0) / inv["paid_count"] if inv["paid_count"] else 0)
        put(cid, "unpaid_invoices", inv["unpaid"])

    ages: dict[int, list[float]] = {}
    devices = repair_selectors.scoring_devices().filter(
        created_at__lt=as_of, customer_id__in=customers.values("pk")
    )
    for cid, brand, model, created_at in devices.values_list("customer_id", "brand", "model", "created_at"):
        ages.setdefault(cid, []).append(device_age_years(brand, model, created_at, as_of))
    for cid, values in ages.items():
        put(cid, "devices", len(values))
        put(cid, "max_device_age_years", max(values))
        put(cid, "mean_device_age_years", sum(values) / len(values))
        put(cid, "devices_over_3y", sum(1 for age in values if age > 3))

    checks = (
        repair_selectors.scoring_quality_checks()
        .filter(created_at__lt=as_of, passed=False, ticket__customer_id__in=customers.values("pk"))
        .values("ticket__customer_id")
        .annotate(n=Count("pk"))
    )
    for qc in checks:
        put(qc["ticket__customer_id"], "quality_checks_failed", qc["n"])

    sessions = (
        Session.objects.filter(started_at__lt=as_of, customer_id__in=customers.values("pk"))
        .values("customer_id")
        .annotate(
            n_90d=Count("pk", filter=Q(started_at__gte=quarter_ago)),
            pv_90d=Sum("pageviews", filter=Q(started_at__gte=quarter_ago)),
            n_365d=Count("pk", filter=Q(started_at__gte=year_ago)),
            last=Max("started_at"),
        )
    )
    for s in sessions:
        cid = s["customer_id"]
        put(cid, "sessions_90d", s["n_90d"])
        put(cid, "pageviews_90d", s["pv_90d"] or 0)
        put(cid, "sessions_365d", s["n_365d"])
        put(cid, "days_since_last_visit", min(NEVER_DAYS, _days(as_of - s["last"])))

    messages = (
        notification_selectors.scoring_messages()
        .filter(sent_at__lt=as_of, sent_at__gte=year_ago, customer_id__in=customers.values("pk"))
        .values("customer_id")
        .annotate(n=Count("pk"), opened=Count("pk", filter=Q(opened_at__lt=as_of)))
    )
    for m in messages:
        put(m["customer_id"], "emails_12m", m["n"])
        put(m["customer_id"], "email_open_rate", m["opened"] / m["n"] if m["n"] else 0)

    opted_out = notification_selectors.scoring_marketing_opt_outs().filter(updated_at__lt=as_of)
    for cid in opted_out.values_list("customer_id", flat=True):
        put(cid, "marketing_opt_out", 1)

    return FeatureMatrix(as_of=as_of, customer_ids=ids, X=X, has_history=has_history)


@dataclass
class Labels:
    """What happened in the window after a cut-off, per customer (aligned with a FeatureMatrix)."""

    churned: np.ndarray  # no repair and no site visit in the window
    value: np.ndarray  # paid in the window, minor units
    repair_90d: np.ndarray  # a repair booked within 90 days
    days_to_repair: np.ndarray  # days to the next repair, capped at the window (censored)


def compute_labels(features: FeatureMatrix, window_days: int) -> Labels:
    start = features.as_of
    end = start + timedelta(days=window_days)
    ids = features.customer_ids.tolist()
    index = {pk: i for i, pk in enumerate(ids)}
    n = len(ids)
    population = repair_selectors.scoring_customers().filter(created_at__lt=start).values("pk")
    came_back = np.zeros(n, dtype=bool)
    value = np.zeros(n)
    repair_90d = np.zeros(n, dtype=bool)
    days = np.full(n, float(window_days))
    tickets = (
        repair_selectors.scoring_tickets()
        .filter(created_at__gte=start, created_at__lt=end, customer_id__in=population)
        .values("customer_id")
        .annotate(first=Min("created_at"))
    )
    for t in tickets:
        i = index.get(t["customer_id"])
        if i is None:
            continue
        came_back[i] = True
        days[i] = _days(t["first"] - start)
        repair_90d[i] = days[i] < 90
    visited = (
        Session.objects.filter(started_at__gte=start, started_at__lt=end, customer_id__in=population)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    for cid in visited:
        if cid in index:
            came_back[index[cid]] = True
    paid = (
        payment_selectors.scoring_invoices()
        .filter(paid_at__gte=start, paid_at__lt=end, ticket__customer_id__in=population)
        .values("ticket__customer_id")
        .annotate(total=Sum("total"))
    )
    for p in paid:
        if p["ticket__customer_id"] in index:
            value[index[p["ticket__customer_id"]]] = p["total"] or 0
    return Labels(churned=~came_back, value=value, repair_90d=repair_90d, days_to_repair=days)
