"""End to end on simulated data: simulate 600 customers × 24 months, train through the Celery task
(time holdout), score through the Celery task; check the metric floors, the persisted models, the
scores and a planted lapsed customer.

The shop's history ends at a fixed instant (``SIMULATED_NOW``) and the clock is frozen there, so
the planted customer's recency and the months' seasonal demand are the same whatever day the suite
runs (the pipeline did score the planted customer "loyal" in December and January).

Floors (also in docs/scoring.md): churn ROC AUC ≥ 0.70, next-repair ROC AUC ≥ 0.70, CLV MAE
below the naive "last 12 months' spend" forecast. Measured here: churn ≈ 0.80, next repair ≈ 0.84.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from analytics.scoring import selectors
from analytics.scoring.models import CustomerScore, ModelKind, ScoringModel
from analytics.scoring.tasks import score_customers, train_scoring_models
from analytics.scoring.training import load
from demo.simulate import simulate_shop
from repairs.models import Customer, Device, RepairTicket
from tests.factories import CustomerFactory, make_ticket

CHURN_AUC_FLOOR = 0.70
NEXT_REPAIR_AUC_FLOOR = 0.70

pytestmark = pytest.mark.django_db(transaction=False)

SIMULATED_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def plant_lapsed_customer() -> Customer:
    """Three repairs, the last 14 months ago, two old devices, no visits since: must look lost or at risk."""
    now = timezone.now()
    customer = CustomerFactory(name="Planted Lapsed")
    Customer.objects.filter(pk=customer.pk).update(created_at=now - timedelta(days=700))
    for model in ("iPhone 8", "PlayStation 4"):
        device = Device.objects.create(customer=customer, kind="phone", brand="", model=model)
        Device.objects.filter(pk=device.pk).update(created_at=now - timedelta(days=700))
    device = customer.devices.first()
    for days in (690, 560, 426):
        t = make_ticket(customer=customer, device=device)
        RepairTicket.objects.filter(pk=t.pk).update(
            created_at=now - timedelta(days=days), quote_decision="approved"
        )
    return customer


@time_machine.travel(SIMULATED_NOW, tick=False)
def test_simulated_shop_trains_scores_and_beats_the_floors():
    simulate_shop(customers=600, months=24, seed=3, namespace="e2e")
    planted = plant_lapsed_customer()

    assert train_scoring_models()["trained"] == 4
    current = selectors.current_models()
    assert set(current) == set(ModelKind.values)
    churn, nxt, clv, days = (current[k] for k in ("churn", "next_repair", "clv", "days_to_repair"))
    assert churn.metrics["roc_auc"] >= CHURN_AUC_FLOOR, churn.metrics
    assert nxt.metrics["roc_auc"] >= NEXT_REPAIR_AUC_FLOOR, nxt.metrics
    assert clv.metrics["mae"] < clv.metrics["baseline_mae"], clv.metrics
    assert days.metrics["mae"] > 0
    for model in current.values():
        assert model.version == 1 and model.trained_at <= timezone.now()
        assert model.test_cutoff - model.train_cutoff == timedelta(days=model.window_days)
        assert model.train_rows > 300 and model.test_rows > 300
        assert model.features and model.algorithm.startswith("HistGradientBoosting")
        assert load(ScoringModel.objects.get(pk=model.pk)) is not None

    result = score_customers()
    assert result["scored"] == Customer.objects.count()
    scores = CustomerScore.objects.all()
    assert scores.count() == result["scored"]
    for score in scores[:200]:
        for name in ("engagement", "conversion", "loyalty", "value"):
            assert 0 <= getattr(score, name) <= 100
            assert score.explanations[name]
        assert 0 <= score.churn_probability <= 1 and 0 <= score.next_repair_probability <= 1
        assert score.clv_12m >= 0 and score.expected_days_to_next_repair >= 1
        assert score.model_versions == {"churn": 1, "clv": 1, "next_repair": 1, "days_to_repair": 1}
    segments = set(scores.values_list("segment", flat=True))
    assert {"at_risk", "active", "new"} <= segments

    lapsed = CustomerScore.objects.get(customer=planted)
    assert lapsed.segment in {"at_risk", "lost"}, (lapsed.segment, lapsed.churn_probability)
    assert lapsed.churn_probability > 0.6
    codes = {a["code"] for a in lapsed.actions}
    assert {"win_back", "battery_check"} <= codes

    # A second training keeps the history and moves the current version on.
    train_scoring_models()
    assert ScoringModel.objects.filter(kind="churn").count() == 2
    assert selectors.current_models()["churn"].version == 2
