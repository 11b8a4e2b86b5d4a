"""Measure the ready-by model on a time holdout (and optionally train and persist it).

    manage.py ready_by_benchmark                       # on the shop's own history
    manage.py simulate_shop --customers 600 --months 18 --seed 5 --namespace rbbench --end 2026-06-15
    manage.py ready_by_benchmark --end 2026-06-15       # on that simulated history (demo/benchmark DB)

Prints the holdout metrics in working hours: MAE of the check-in estimate against the median-by-device
baseline, and the actual coverage of the 80% interval. ``--save`` persists the model with its metrics
(what the nightly task does).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from repairs.models import ReadyByModel
from repairs.readyby import training


class Command(BaseCommand):
    help = "Measure (and with --save, persist) the ready-by model on a time holdout."

    def add_arguments(self, parser):
        parser.add_argument(
            "--end", default="", help="YYYY-MM-DD: the history ends (and 'now' is) then, 12:00 UTC."
        )
        parser.add_argument(
            "--save", action="store_true", help="Persist the model (as the nightly task does)."
        )
        parser.add_argument(
            "--if-untrained",
            action="store_true",
            help="With --save: do nothing if a model exists (make setup).",
        )

    def handle(self, *args, **options):
        if options["if_untrained"] and ReadyByModel.objects.exists():
            self.stdout.write("A ready-by model exists already; nothing to do.")
            return
        now = timezone.now()
        if options["end"]:
            try:
                now = datetime.fromisoformat(options["end"]).replace(hour=12, tzinfo=UTC)
            except ValueError as exc:
                raise CommandError("--end must be a date: YYYY-MM-DD.") from exc
        began = time.monotonic()
        try:
            if options["save"]:
                model = training.train_model(now)
                metrics = {**model.metrics, "version": model.version}
            else:
                parts = training.split(training.dataset(now), now)
                bundle = training.fit_bundle(
                    parts.train,
                    calibration_share=settings.READY_BY_CALIBRATION_PERCENT / 100,
                    seed=settings.READY_BY_RANDOM_SEED,
                )
                metrics = training.evaluate(bundle, parts.train, parts.test)
                metrics["train_tickets"] = len({r.ticket_id for r in parts.train})
                metrics["test_tickets"] = len({r.ticket_id for r in parts.test})
        except training.NotEnoughData as exc:
            if options["if_untrained"]:  # make setup: estimates fall back to medians until there is history
                # One short line for make run; the reason in full with -v 2.
                self.stdout.write("Ready-by: medians by device kind until there is more history.")
                if options["verbosity"] > 1:
                    self.stdout.write(f"  ({exc})")
                return
            raise CommandError(str(exc)) from exc
        metrics["seconds"] = round(time.monotonic() - began, 1)
        self.stdout.write(json.dumps(metrics, indent=2, sort_keys=True))
        self.stdout.write(
            f"check-in MAE {metrics['mae_hours']} working hours (median by device: "
            f"{metrics['baseline_mae_hours']}), 80% interval coverage {metrics['coverage']:.0%}"
        )
