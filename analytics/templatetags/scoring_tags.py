"""Template tags of customer scoring: the score panel on the customer's admin page (staff only) and
small filters for the "customers at risk" page. The rendering lives in analytics.scoring."""

from __future__ import annotations

from typing import Any

from django import template

from analytics.scoring import selectors
from analytics.scoring.presentation import SCORE_NAMES, model_panel
from repairs.roles import is_shop_staff
from revivatech.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def get_item(mapping: dict, key: str) -> Any:
    return mapping.get(key, "")


@register.inclusion_tag("analytics/scoring/_score_panel.html", takes_context=True)
def customer_score_panel(context, customer) -> dict[str, Any]:
    """Scores, predictions, segment, actions and the models' metrics of ``customer``; renders
    nothing for anyone but shop staff (technicians can open customers in the admin too)."""
    request = context.get("request")
    if (
        customer is None
        or getattr(customer, "pk", None) is None
        or not is_shop_staff(getattr(request, "user", None))
    ):
        return {"hidden": True}
    score = selectors.score_of(customer.pk)
    breakdown = []
    if score is not None:
        for name in ("engagement", "conversion", "loyalty", "value"):
            label, meaning = SCORE_NAMES[name]
            breakdown.append(
                {
                    "name": name,
                    "label": label,
                    "meaning": meaning,
                    "score": getattr(score, name),
                    "parts": score.explanations.get(name, []),
                }
            )
    return {
        "hidden": False,
        "score": score,
        "breakdown": breakdown,
        "churn_percent": round(score.churn_probability * 100) if score else None,
        "next_repair_percent": round(score.next_repair_probability * 100) if score else None,
        "clv": format_money(score.clv_12m, score.currency) if score else "",
        "models": model_panel(),
    }
