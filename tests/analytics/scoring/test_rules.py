"""Scores, segments and actions of planted customers (pure rules, exact)."""

from __future__ import annotations

import pytest

from analytics.scoring.features import FEATURES
from analytics.scoring.rules import Prediction, scorecard


def features(**values: float) -> dict[str, float]:
    base = dict.fromkeys(FEATURES, 0.0)
    base.update(
        tenure_days=400, recency_days=100, tickets_total=1, days_since_last_visit=30, quote_approval_ratio=1
    )
    base.update(values)
    return base


CALM = Prediction(churn=0.1, clv_12m=10_000, next_repair_90d=0.1, days_to_repair=150)


def test_scores_are_within_0_100_and_explained():
    card = scorecard(
        features(sessions_90d=50, email_open_rate=1, monetary_12m=10**9), Prediction(0, 10**9, 1, 1), "GBP"
    )
    assert set(card.scores) == {"engagement", "conversion", "loyalty", "value"}
    for name, score in card.scores.items():
        assert 0 <= score <= 100
        parts = card.explanations[name]
        assert parts and all({"input", "value", "points", "max_points", "reason"} <= set(p) for p in parts)
        assert sum(p["max_points"] for p in parts) == 100
        assert score == round(sum(p["points"] for p in parts))
    assert card.scores["engagement"] == round(40 + 30 * (1 - 30 / 180) + 30)  # 30 days since the last visit
    nothing = scorecard(
        features(tickets_total=0, tenure_days=10, days_since_last_visit=1000), Prediction(1, 0, 0, 180), "GBP"
    )
    assert all(0 <= s <= 100 for s in nothing.scores.values())
    assert nothing.scores["value"] == 0


def test_lost_customer_gets_a_win_back_action():
    card = scorecard(
        features(recency_days=600, days_since_last_visit=400, tickets_total=2, tenure_days=900),
        Prediction(churn=0.92, clv_12m=500, next_repair_90d=0.02, days_to_repair=180),
        "GBP",
    )
    assert card.segment == "lost"
    texts = [a["text"] for a in card.actions]
    assert "Win-back discount: churn risk 92%, last repair 20 months ago" in texts


def test_at_risk_customer_with_old_devices():
    card = scorecard(
        features(
            recency_days=426, devices_over_3y=2, tickets_total=2, tenure_days=700, days_since_last_visit=90
        ),
        Prediction(churn=0.78, clv_12m=4_000, next_repair_90d=0.05, days_to_repair=170),
        "GBP",
    )
    assert card.segment == "at_risk"
    assert card.segment_reason.startswith("churn risk 78%")
    codes = {a["code"]: a["text"] for a in card.actions}
    assert codes["win_back"] == "Win-back discount: churn risk 78%, last repair 14 months ago"
    assert codes["battery_check"] == "Offer a battery check: 2 devices older than 3 years"


def test_loyal_customer_is_asked_for_a_review():
    card = scorecard(
        features(
            tickets_total=3, tenure_days=800, recency_days=40, quality_checks_failed=0, monetary_12m=5_000
        ),
        CALM,
        "GBP",
    )
    assert card.segment == "loyal"
    assert {
        "code": "ask_review",
        "text": "Ask for a review: 3 repairs, all quality checks passed",
    } in card.actions


def test_high_value_new_and_active_segments():
    high = scorecard(features(monetary_12m=60_000, tickets_total=2), Prediction(0.1, 50_000, 0.2, 100), "GBP")
    assert high.segment == "high_value" and high.scores["value"] == 100
    assert any(a["code"] == "vip_thanks" for a in high.actions)
    new = scorecard(features(tenure_days=20, recency_days=20), CALM, "GBP")
    assert new.segment == "new"
    active = scorecard(features(), CALM, "GBP")
    assert active.segment == "active"


def test_unpaid_invoice_and_service_reminder_actions():
    card = scorecard(features(unpaid_invoices=2), Prediction(0.2, 8_000, 0.55, 35), "GBP")
    texts = [a["text"] for a in card.actions]
    assert "Chase payment: 2 unpaid invoices" in texts
    assert any(t.startswith("Service reminder: 55% chance of a repair within 90 days") for t in texts)


@pytest.mark.parametrize("churn", [0.0, 0.59])
def test_below_the_threshold_is_not_at_risk(churn):
    assert scorecard(features(), Prediction(churn, 1_000, 0.1, 100), "GBP").segment != "at_risk"
