"""Ground truth on simulated data: the model beats the median by device kind and its 80% interval
covers 70–90% of held-out repairs. Fixed seed and a frozen clock, so it passes on any date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from demo.simulate import simulate_shop
from repairs.models import ReadyByEstimate, ReadyByModel
from repairs.readyby import selectors
from repairs.readyby.tasks import train_ready_by_model
from tests.factories import advance, make_ticket

SIMULATED_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@time_machine.travel(SIMULATED_NOW, tick=False)
def test_trained_model_beats_the_median_by_device_and_its_interval_covers_about_80_percent():
    assert train_ready_by_model()["trained"] == 0  # no history yet: skipped, estimates fall back
    simulate_shop(customers=600, months=18, seed=5, namespace="rb")

    result = train_ready_by_model()
    assert result["trained"] == 1
    model = ReadyByModel.objects.get(version=result["version"])
    m = model.metrics
    assert m["rows"] >= 100 and model.test_tickets >= 100, m
    assert m["mae_hours"] < m["baseline_mae_hours"], m
    assert 0.70 <= m["coverage"] <= 0.90, m
    assert m["all_mae_hours"] < m["all_baseline_mae_hours"], m
    assert model.medians["*"]["n"] > 300 and model.features["names"][0] == "kind"

    # New repairs are now estimated by the model, and say what they are based on.
    ticket = advance(make_ticket(problem="Dropped in water, now dead"), "received")
    estimate = ReadyByEstimate.objects.get(ticket=ticket, current=True)
    assert estimate.method == "model" and estimate.model_id == model.pk
    assert 0 < estimate.hours_p10 <= estimate.hours_p50 <= estimate.hours_p90
    assert estimate.features["fault"] == "water"
    shown = selectors.customer_ready_by(ticket)
    assert shown["method"] == "model" and shown["headline"].startswith("Ready by")
    assert f"About {round(m['coverage'] * 10)} in 10 are ready within the range we give." in shown["basis"]


@time_machine.travel(SIMULATED_NOW, tick=False)
def test_benchmark_command_reports_the_metrics(capsys):
    call_command("simulate_shop", customers=300, months=12, seed=2, namespace="bench", end="2026-06-15")
    call_command("ready_by_benchmark", end="2026-06-15")
    out = capsys.readouterr().out
    assert "check-in MAE" in out and "80% interval coverage" in out
