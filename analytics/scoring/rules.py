"""0–100 scores explained by their inputs, segments and recommended actions.

Scores are transparent point systems (each input earns part of the maximum; the explanation lists
input, value, points and the reason), so staff can see why a number is what it is. The model outputs
(churn probability, 12-month value) enter the loyalty and value scores as inputs like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from revivatech.money import format_money

from .models import Segment


@dataclass
class Prediction:
    churn: float
    clv_12m: float
    next_repair_90d: float
    days_to_repair: float


@dataclass
class Scorecard:
    scores: dict[str, int]
    explanations: dict[str, list[dict]]
    segment: str
    segment_reason: str
    actions: list[dict] = field(default_factory=list)


def _part(name: str, value: float, fraction: float, max_points: int, reason: str) -> dict:
    fraction = min(1.0, max(0.0, fraction))
    return {
        "input": name,
        "value": round(float(value), 3),
        "points": round(fraction * max_points, 1),
        "max_points": max_points,
        "reason": reason,
    }


def _total(parts: list[dict]) -> int:
    return int(round(min(100.0, max(0.0, sum(p["points"] for p in parts)))))


def _money(minor: float, currency: str) -> str:
    return format_money(int(round(minor)), currency)


def yearly_spend(f: dict[str, float]) -> float:
    """What the customer pays in a typical year as a customer (minor units): all they paid, over
    their time with the shop, counted as at least a year."""
    return f["monetary_total"] * 365 / max(f["tenure_days"], 365)


def value_at_stake(f: dict[str, float], p: Prediction) -> float:
    """What the shop stands to lose in a year if the customer does not come back: the chance they
    leave times what they pay in a typical year. Not churn x the 12-month value: that prediction
    already counts the chance of leaving, so the product is near zero exactly for those at risk."""
    return p.churn * yearly_spend(f)


def scorecard(f: dict[str, float], p: Prediction, currency: str) -> Scorecard:
    """Scores, segment and actions of one customer from their features and predictions."""
    high_value = settings.SCORING_HIGH_VALUE_MINOR
    engagement = [
        _part(
            "sessions_90d",
            f["sessions_90d"],
            f["sessions_90d"] / 6,
            40,
            f"{f['sessions_90d']:.0f} visits in 90 days (6+ earns all)",
        ),
        _part(
            "days_since_last_visit",
            f["days_since_last_visit"],
            1 - f["days_since_last_visit"] / 180,
            30,
            "never visited"
            if f["days_since_last_visit"] >= 1000
            else f"last visit {f['days_since_last_visit']:.0f} days ago (0 after 180)",
        ),
        _part(
            "email_open_rate",
            f["email_open_rate"],
            f["email_open_rate"] / 0.6,
            30,
            f"opens {f['email_open_rate']:.0%} of emails (60 %+ earns all)",
        ),
    ]
    decided = f["tickets_total"] > 0
    conversion = [
        _part(
            "quote_approval_ratio",
            f["quote_approval_ratio"],
            f["quote_approval_ratio"] if decided else 0.5,
            60,
            f"approved {f['quote_approval_ratio']:.0%} of quotes" if decided else "no quote yet (neutral)",
        ),
        _part(
            "unpaid_invoices",
            f["unpaid_invoices"],
            1 - f["unpaid_invoices"] / 2,
            25,
            f"{f['unpaid_invoices']:.0f} unpaid invoices (2+ earn nothing)",
        ),
        _part(
            "sessions_90d",
            f["sessions_90d"],
            min(1.0, f["sessions_90d"]),
            15,
            "visited the site recently" if f["sessions_90d"] else "no visit in 90 days",
        ),
    ]
    loyalty = [
        _part(
            "tenure_days",
            f["tenure_days"],
            f["tenure_days"] / 730,
            25,
            f"customer for {f['tenure_days'] / 30.44:.0f} months (24+ earns all)",
        ),
        _part(
            "tickets_total",
            f["tickets_total"],
            (f["tickets_total"] - 1) / 3,
            25,
            f"{f['tickets_total']:.0f} repairs (4+ earns all)",
        ),
        _part(
            "recency_days",
            f["recency_days"],
            1 - f["recency_days"] / 540,
            20,
            f"last repair {f['recency_days']:.0f} days ago (0 after 18 months)",
        ),
        _part("churn_probability", p.churn, 1 - p.churn, 30, f"churn risk {p.churn:.0%} (model)"),
    ]
    value = [
        _part(
            "monetary_12m",
            f["monetary_12m"],
            f["monetary_12m"] / high_value,
            40,
            f"paid {_money(f['monetary_12m'], currency)} in 12 months "
            f"({_money(high_value, currency)} earns all)",
        ),
        _part(
            "clv_12m",
            p.clv_12m,
            p.clv_12m / high_value,
            60,
            f"expected {_money(p.clv_12m, currency)} in the next 12 months (model)",
        ),
    ]
    explanations = {"engagement": engagement, "conversion": conversion, "loyalty": loyalty, "value": value}
    scores = {name: _total(parts) for name, parts in explanations.items()}
    segment, reason = _segment(f, p, scores)
    return Scorecard(scores, explanations, segment, reason, _actions(f, p, scores, segment, currency))


def _segment(f: dict[str, float], p: Prediction, scores: dict[str, int]) -> tuple[str, str]:
    """First matching rule wins (the order matters; see docs/scoring.md)."""
    at_risk = settings.SCORING_AT_RISK_CHURN
    if f["tickets_total"] and f["recency_days"] > 540 and f["days_since_last_visit"] > 180:
        return Segment.LOST, f"no repair for {f['recency_days'] / 30.44:.0f} months and no visit for 6 months"
    if f["tickets_total"] == 0 or f["tenure_days"] <= 90:
        return Segment.NEW, "first repair less than 90 days ago" if f["tickets_total"] else "no repair yet"
    if p.churn >= at_risk:
        return Segment.AT_RISK, f"churn risk {p.churn:.0%} (≥ {at_risk:.0%})"
    if scores["value"] >= 60:
        return Segment.HIGH_VALUE, f"value score {scores['value']} (≥ 60)"
    if f["tickets_total"] >= 3 and scores["loyalty"] >= 60:
        return Segment.LOYAL, f"{f['tickets_total']:.0f} repairs and loyalty score {scores['loyalty']} (≥ 60)"
    return Segment.ACTIVE, "recent customer with no risk flag"


def _actions(
    f: dict[str, float], p: Prediction, scores: dict[str, int], segment: str, currency: str
) -> list[dict]:
    actions: list[dict] = []

    def add(code: str, text: str) -> None:
        actions.append({"code": code, "text": text})

    months_since = f["recency_days"] / 30.44
    if segment in (Segment.AT_RISK, Segment.LOST) and f["tickets_total"]:
        add(
            "win_back",
            f"Win-back discount: churn risk {p.churn:.0%}, last repair {months_since:.0f} months ago",
        )
    if f["devices_over_3y"] >= 1 and segment != Segment.LOST:
        n = int(f["devices_over_3y"])
        add("battery_check", f"Offer a battery check: {n} device{'s' if n != 1 else ''} older than 3 years")
    if f["unpaid_invoices"] >= 1:
        n = int(f["unpaid_invoices"])
        add("chase_payment", f"Chase payment: {n} unpaid invoice{'s' if n != 1 else ''}")
    if (
        f["tickets_total"] >= 3
        and f["quality_checks_failed"] == 0
        and segment not in (Segment.AT_RISK, Segment.LOST)
    ):
        add("ask_review", f"Ask for a review: {f['tickets_total']:.0f} repairs, all quality checks passed")
    if p.next_repair_90d >= 0.4 and segment not in (Segment.LOST,):
        add(
            "service_reminder",
            f"Service reminder: {p.next_repair_90d:.0%} chance of a repair within 90 days "
            f"(expected in about {p.days_to_repair:.0f} days)",
        )
    if segment == Segment.HIGH_VALUE or scores["value"] >= 80:
        add("vip_thanks", f"Thank-you perk: expected {_money(p.clv_12m, currency)} over the next 12 months")
    if f["marketing_opt_out"] and segment in (Segment.AT_RISK, Segment.LOST):
        add("contact_by_phone", "Call rather than email: marketing email switched off")
    if f["quality_checks_failed"] >= 1 and segment == Segment.AT_RISK:
        add(
            "service_recovery",
            f"Service recovery call: {f['quality_checks_failed']:.0f} failed quality checks on their repairs",
        )
    return actions
