"""manage.py erase_customer <customer id> [--yes]: erase or anonymise a customer in every app."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from analytics.models import CustomerPersonalData
from analytics.services.gdpr import erase_customer


class Command(BaseCommand):
    help = "Erase or anonymise everything held about a customer, in every app, in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("customer_id", type=int)
        parser.add_argument(
            "--yes", "--no-input", action="store_true", dest="yes", help="Do not ask to confirm."
        )

    def handle(self, *args, customer_id: int, yes: bool = False, **options):
        customer = CustomerPersonalData.objects.filter(pk=customer_id).first()
        if customer is None:
            raise CommandError(f"No customer with id {customer_id}.")
        if not yes:
            answer = input(
                f"Erase all personal data of customer {customer_id}? This cannot be undone. [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing erased.")
        summary = erase_customer(customer)
        self.stdout.write(json.dumps({"customer_id": customer_id, "erased": summary}, indent=2))
