"""Scheduling, task registration, and failure isolation of the ready-by estimate."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from repairs import services
from repairs.models import ReadyByEstimate
from repairs.presenters import event_payload
from repairs.readyby import faults
from revivatech.celery import app
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_nightly_training_is_scheduled_and_registered():
    entry = settings.CELERY_BEAT_SCHEDULE["repairs-train-ready-by-model"]
    assert entry["task"] == "repairs.train_ready_by_model"
    import repairs.tasks  # what the worker's autodiscovery imports  # noqa: F401

    assert entry["task"] in app.tasks


def test_benchmark_explains_when_there_is_too_little_history(capsys):
    with pytest.raises(CommandError, match="finished repairs needed"):
        call_command("ready_by_benchmark")
    call_command("ready_by_benchmark", save=True, if_untrained=True)  # make setup must not fail
    assert "Ready-by: medians by device kind" in capsys.readouterr().out


def test_a_failing_estimate_never_breaks_the_repair_service(monkeypatch, caplog):
    ticket = make_ticket()

    def broken(*args, **kwargs):
        raise RuntimeError("model file corrupt")

    monkeypatch.setattr("repairs.readyby.services.compute_estimate", broken)
    ticket = services.transition_ticket(ticket, "received")
    assert ticket.status == "received"
    event = ticket.events.order_by("-seq").first()
    assert "ready_by" not in event.payload["ticket"]  # no estimate rather than a failed change
    assert "ready-by estimate failed" in caplog.text
    assert not ReadyByEstimate.objects.filter(ticket=ticket, status="received").exists()


def test_customers_see_only_the_worded_estimate():
    payload = {
        "promised_at": "2026-12-09T17:00:00+00:00",
        "note": "Screen in stock",
        "internal": "x",
        "ticket": {"status": "received", "ready_by": {"headline": "Ready by Thursday"}, "secret": 1},
    }
    safe = event_payload("ticket.ready_by_updated", payload, customer_view=True)
    assert safe == {
        "promised_at": "2026-12-09T17:00:00+00:00",
        "note": "Screen in stock",
        "ticket": {
            "status": "received",
            "ready_by": {"headline": "Ready by Thursday"},
            "status_sentence": "We have received your device at the workshop.",
        },
    }


@pytest.mark.parametrize(
    "text,category",
    [
        ("Dropped it in the bath, water damage and cracked screen", "water"),
        ("Cracked screen after a drop", "screen"),
        ("Battery drains within hours", "battery"),
        ("Joystick drift on the left controller", "drift"),
        ("Please have a look", "other"),
        ("", "other"),
    ],
)
def test_fault_categories(text, category):
    assert faults.fault_category(text) == category
