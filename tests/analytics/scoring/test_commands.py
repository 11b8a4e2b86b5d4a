"""The scheduled tasks are in the beat schedule; commands and tasks explain when there is nothing to do."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from analytics.scoring.tasks import score_customers, train_scoring_models

pytestmark = pytest.mark.django_db


def test_beat_schedules_weekly_training_and_daily_scoring():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "analytics.scoring.tasks.train_scoring_models",
        "analytics.scoring.tasks.score_customers",
    } <= tasks


def test_nothing_to_train_or_score_yet(customer):
    with pytest.raises(CommandError, match="No trained model yet"):
        call_command("score_customers")
    with pytest.raises(CommandError, match="Need at least"):
        call_command("score_customers", "--train")
    assert score_customers()["scored"] == 0 and "Train first" in score_customers()["skipped"]
    assert train_scoring_models()["trained"] == 0
