"""manage.py export_customer <customer id> [--output FILE]: the GDPR archive of one customer."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics.models import CustomerPersonalData
from analytics.services.gdpr import archive_json, export_customer


class Command(BaseCommand):
    help = "Write a JSON archive of everything held about a customer (every app's section)."

    def add_arguments(self, parser):
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, customer_id: int, output: str | None = None, **options):
        customer = CustomerPersonalData.objects.filter(pk=customer_id).first()
        if customer is None:
            raise CommandError(f"No customer with id {customer_id}.")
        text = archive_json(export_customer(customer))
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Wrote the archive of customer {customer_id} to {output}.")
        else:
            self.stdout.write(text)
