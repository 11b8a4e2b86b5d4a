"""Demo data for payments: an issued invoice on every demo repair that is ready for pickup, so the
tracking page shows "Pay now"."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.services.invoices import create_invoice, issue_invoice
from repairs.models import RepairTicket


class Command(BaseCommand):
    help = "Issue invoices (from the approved quote) for demo repairs that are ready for pickup."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow it when DEBUG is off.")

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo_payments is for demo sites; run it with DJANGO_DEBUG=1 or --force.")
        tickets = RepairTicket.objects.filter(
            status="ready_for_pickup", problem_description__startswith="[demo]", invoices__isnull=True
        )
        issued = 0
        for ticket in tickets:
            issue_invoice(create_invoice(ticket))
            issued += 1
        self.stdout.write(self.style.SUCCESS(f"{issued} demo invoices issued."))
