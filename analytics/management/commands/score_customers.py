"""``manage.py score_customers [--train] [--train-only]``: train the scoring models and/or score now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.scoring import selectors, services
from analytics.scoring.training import NotEnoughData


class Command(BaseCommand):
    help = "Score every customer with the newest models (--train: train them first on the time holdout)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", action="store_true", help="Train (and evaluate) the models first.")
        parser.add_argument("--train-only", action="store_true", help="Train, do not score.")
        parser.add_argument(
            "--if-unscored",
            action="store_true",
            help="Train and score only when no models exist yet (for `make run`'s demo data).",
        )

    def handle(self, *args, **options) -> None:
        if options["if_unscored"]:
            if selectors.current_models():
                self.stdout.write("Scoring models exist already; nothing to do.")
                return
            options["train"] = True
        if options["train"] or options["train_only"]:
            try:
                rows = services.train_models()
            except NotEnoughData as exc:
                raise CommandError(str(exc)) from exc
            # `make run` (--if-unscored) prints one line; the models' figures with -v 2 or --train.
            if options["verbosity"] >= 2 or not options["if_unscored"]:
                for row in rows:
                    self.stdout.write(
                        f"{row}: {row.metrics} (train {row.train_rows}, test {row.test_rows} customers)"
                    )
            if options["train_only"]:
                return
        try:
            run = services.score_customers()
        except services.NoModels as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] >= 2 or not options["if_unscored"]:
            self.stdout.write(f"Scored {run.scored} customers with models {run.model_versions}.")
        else:
            self.stdout.write(
                f"Trained {len(run.model_versions)} scoring models; scored {run.scored} customers."
            )
