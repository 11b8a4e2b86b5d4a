"""What the staff page and the admin panel show beside the scores: the models' holdout metrics."""

from __future__ import annotations

from django.conf import settings

from revivatech.money import format_money

from . import selectors
from .models import ModelKind

METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "brier": "Brier",
    "base_rate": "base rate",
    "mae": "MAE",
    "baseline_mae": "naive MAE",
}


#: The scores in the shop's words, with what each measures (the page's legend and the admin panel).
SCORE_NAMES = {
    "engagement": ("Engagement", "Visits to the site in the last 90 days, how recently, and emails opened."),
    "conversion": ("Likely to book", "Quotes approved, invoices paid on time and a recent visit."),
    "loyalty": ("Loyalty", "How long they have been a customer, how many repairs, how recently, churn risk."),
    "value": ("Value", "What they paid in the last 12 months and are expected to spend in the next 12."),
}


def model_panel() -> list[dict]:
    """One line per current model: name, version, training date, holdout window and metrics."""
    lines = []
    for kind, model in selectors.current_models().items():
        metrics = []
        for key, value in model.metrics.items():
            if key not in METRIC_LABELS:
                continue
            if kind == ModelKind.CLV and "mae" in key:
                shown = format_money(int(round(value)), settings.SHOP_CURRENCY)
            elif kind == ModelKind.DAYS_TO_REPAIR and "mae" in key:
                shown = f"{value:.1f} days"
            elif key == "base_rate":
                shown = f"{value:.0%}"
            else:
                shown = f"{value:.3f}"
            metrics.append({"label": METRIC_LABELS[key], "value": shown})
        lines.append(
            {
                "name": model.get_kind_display(),
                "version": model.version,
                "trained_at": model.trained_at,
                "algorithm": model.algorithm,
                "test_cutoff": model.test_cutoff,
                "window_days": model.window_days,
                "test_rows": model.test_rows,
                "metrics": metrics,
            }
        )
    return lines
