"""``manage.py simulate_shop --customers N --months M [--seed S] [--namespace NAME] [--end DATE]``."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from demo.simulate import SimulationRefused, namespace_exists, simulate_shop


class Command(BaseCommand):
    help = (
        "Write a synthetic shop history (customers, devices, repairs, invoices, payments, visits, "
        "newsletters) for training and demonstrating customer scoring. Refuses a namespace already used."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--months", type=int, default=24)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--namespace", default="sim", help="Tag of this cohort (letters/digits, ≤ 8).")
        parser.add_argument("--end", help="Last day of the history (YYYY-MM-DD, UTC); default: now.")
        parser.add_argument(
            "--if-new",
            action="store_true",
            help="Do nothing (and succeed) when the namespace already exists: for `make run`'s demo data.",
        )

    def handle(self, *args, **options) -> None:
        if options["if_new"] and namespace_exists(options["namespace"]):
            self.stdout.write(f"Simulated shop {options['namespace']!r} already exists; nothing to do.")
            return
        end = None
        if options["end"]:
            try:
                end = datetime.fromisoformat(options["end"]).replace(tzinfo=UTC, hour=12)
            except ValueError as exc:
                raise CommandError("--end must be a date such as 2026-11-01.") from exc
        try:
            result = simulate_shop(
                customers=options["customers"],
                months=options["months"],
                seed=options["seed"],
                namespace=options["namespace"],
                end=end,
            )
        except SimulationRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] >= 2:
            counts = ", ".join(f"{name}={count}" for name, count in result.counts.items())
            self.stdout.write(f"Simulated shop {result.namespace!r} in {result.seconds:.1f} s: {counts}")
            return
        customers, tickets = result.counts.get("customers", 0), result.counts.get("tickets", 0)
        self.stdout.write(
            f"Simulated shop {result.namespace!r}: {customers} customers, {tickets} repairs "
            f"over {options['months']} months ({result.seconds:.1f} s)."
        )
