"""simulate_shop: deterministic shape on a fixed seed, consistent rows, refuses a reused namespace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from analytics.models import Event, Session
from demo.simulate import simulate_shop
from notifications.models import Message, NotificationPreference
from payments.models import Invoice, Payment
from repairs.lifecycle import Status
from repairs.models import Customer, EventKind, RepairTicket, StatusChange, TicketEvent
from repairs.selectors import status_events

END = datetime(2026, 10, 1, 12, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_fixed_seed_gives_the_same_shape_and_consistent_rows():
    first = simulate_shop(customers=60, months=12, seed=11, namespace="a", end=END)
    second = simulate_shop(customers=60, months=12, seed=11, namespace="b", end=END)
    assert first.counts == second.counts  # same seed, same history (only ids and random tokens differ)
    counts = first.counts
    assert counts["customers"] == 60
    assert counts["tickets"] >= 60  # everyone books at sign-up, some come back
    assert counts["invoices"] >= counts["payments"] > 0
    assert counts["sessions"] > counts["tickets"]  # booking visits plus browsing
    assert counts["messages"] > 0

    start = END - timedelta(days=round(12 * 30.44))
    customers = Customer.objects.filter(email__endswith="@a.sim.example")
    tickets = RepairTicket.objects.filter(customer__in=customers)
    assert customers.count() == 60
    assert not customers.annotate(n=Count("tickets")).filter(n=0).exists()
    assert tickets.count() == counts["tickets"]
    for ticket in tickets.prefetch_related("events"):
        assert start <= ticket.created_at <= END
        changes = [e for e in ticket.events.all() if e.kind == EventKind.STATUS_CHANGED]
        # the lifecycle path ends where the ticket is, and the event log numbers match
        assert (changes[-1].payload["to"] if changes else Status.BOOKED) == ticket.status
        assert [e.seq for e in ticket.events.all()] == list(range(1, ticket.last_event_seq + 1))
        assert all(c.created_at <= END for c in changes)
    invoices = Invoice.objects.filter(ticket__in=tickets)
    for invoice in invoices.select_related("ticket"):
        assert invoice.ticket.quote_decision == "approved"
        assert invoice.total == invoice.ticket.quote_amount
        assert (invoice.status == "paid") == (invoice.ticket.status == Status.COLLECTED)
    paid = invoices.filter(status="paid")
    payments = Payment.objects.filter(invoice__in=paid)
    assert payments.count() == paid.count()
    assert all(
        p.amount == p.invoice.total and p.status == "succeeded" for p in payments.select_related("invoice")
    )
    # one "booked" event per ticket, then its status moves (the one status history: no other table)
    moves = status_events().filter(ticket__in=tickets).count()
    assert moves == counts["status_changes"]
    assert moves + tickets.count() == TicketEvent.objects.filter(ticket__in=tickets).count()
    assert not StatusChange.objects.filter(ticket__in=tickets).exists()
    assert Session.objects.filter(customer__in=customers).count() == counts["sessions"]
    assert Event.objects.filter(customer_id__in=customers.values("pk")).count() == counts["events"]
    assert Message.objects.filter(customer__in=customers).count() == counts["messages"]
    assert (
        NotificationPreference.objects.filter(customer__in=customers).count() == counts["marketing_opt_outs"]
    )


def test_command_refuses_a_namespace_already_used():
    call_command("simulate_shop", customers=5, months=3, seed=1, namespace="x", end="2026-10-01")
    with pytest.raises(CommandError, match="already in the database"):
        call_command("simulate_shop", customers=5, months=3, seed=1, namespace="x", end="2026-10-01")
    call_command("simulate_shop", customers=5, months=3, seed=1, namespace="y", end="2026-10-01")
    assert Customer.objects.filter(email__endswith=".sim.example").count() == 10


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError, match="namespace"):
        call_command("simulate_shop", customers=5, months=3, namespace="bad-name!")
    with pytest.raises(CommandError, match="--end"):
        call_command("simulate_shop", customers=5, months=3, end="yesterday")
