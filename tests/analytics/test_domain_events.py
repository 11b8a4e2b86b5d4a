"""Domain events become server-side analytics events for the ticket's customer."""

from __future__ import annotations

import pytest

from analytics.models import Event, EventType
from repairs import services
from repairs.models import EventKind
from tests.factories import advance, make_ticket

pytestmark = pytest.mark.django_db


def _server_events(type_: EventType):
    return Event.objects.filter(type=type_, props__server=True)


@pytest.mark.parametrize(
    ("approved", "recorded"), [(True, EventType.QUOTE_APPROVED), (False, EventType.QUOTE_DECLINED)]
)
def test_quote_decisions_are_recorded_for_the_customer(
    ticket, technician, flushed, django_capture_on_commit_callbacks, approved, recorded
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = advance(ticket, "received", "diagnosing", "awaiting_approval", by=technician)
        services.decide_quote(ticket, approved=approved)
    flushed()
    stored = _server_events(recorded).get()
    assert stored.customer == ticket.customer
    assert stored.props == {
        "ticket": ticket.reference,
        "amount": 8900,
        "currency": ticket.quote_currency,
        "server": True,
    }
    assert stored.session_id is None  # no browser request: a service call


def test_payments_are_recorded_with_amount_currency_and_provider(
    ticket, flushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.record_ticket_event(
            ticket,
            kind=EventKind.PAYMENT_RECEIVED,
            payload={"invoice_id": 7, "amount": 8900, "currency": "GBP", "provider": "stripe"},
        )
        services.record_ticket_event(
            ticket,
            kind=EventKind.PAYMENT_FAILED,
            payload={"invoice_id": 8, "amount": 100, "currency": "GBP", "provider": "paypal"},
        )
    flushed()
    paid = _server_events(EventType.PAYMENT_SUCCEEDED).get()
    assert paid.customer == ticket.customer
    assert (paid.props["amount"], paid.props["currency"], paid.props["provider"]) == (8900, "GBP", "stripe")
    assert _server_events(EventType.PAYMENT_FAILED).get().props["provider"] == "paypal"


def test_other_ticket_events_are_not_recorded(
    ticket, technician, flushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.add_note(ticket, text="Parts ordered", visible_to_customer=True, by=technician)
        services.transition_ticket(ticket, "received", by=technician)
    flushed()
    assert not Event.objects.exclude(type=EventType.BOOKING_COMPLETED).exists()


def test_analytics_failures_never_break_a_booking(settings, django_capture_on_commit_callbacks, caplog):
    settings.ANALYTICS_BUFFER = "misconfigured"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
    assert ticket.pk is not None and ticket.status == "booked"
    assert "analytics: could not record ticket.booked" in caplog.text
