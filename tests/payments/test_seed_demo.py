"""The demo data includes an issued invoice, so a newcomer sees "Pay now"."""

import pytest
from django.core.management import CommandError, call_command

from payments.models import Invoice
from repairs.models import RepairTicket

pytestmark = pytest.mark.django_db


def test_demo_invoices_are_issued_for_ready_repairs(settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-123")
    call_command("seed_demo_payments")
    ready = RepairTicket.objects.filter(status="ready_for_pickup")
    assert ready.exists()
    invoices = Invoice.objects.filter(ticket__in=ready)
    assert invoices.count() == ready.count()
    assert all(invoice.issued_at and invoice.total == invoice.ticket.quote_amount for invoice in invoices)
    call_command("seed_demo_payments")  # idempotent
    assert Invoice.objects.count() == invoices.count()


def test_demo_payments_refuse_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="demo sites"):
        call_command("seed_demo_payments")
