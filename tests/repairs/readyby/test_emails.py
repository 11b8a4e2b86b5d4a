"""The booking confirmation and status emails say when the repair should be ready (through the
repairs selector the notification context reads)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from notifications.models import Dispatch
from repairs import services
from repairs.services import CustomerDetails, DeviceDetails

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@time_machine.travel(MONDAY, tick=False)
def test_booking_confirmation_and_status_update_carry_the_ready_by(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.book_repair(
            customer=CustomerDetails(name="Casey Jones", email="casey@example.com"),
            device=DeviceDetails(kind="phone", brand="Apple", model="iPhone 13"),
            problem="Cracked screen",
        )
    booked = Dispatch.objects.get(event_name="ticket.booked").messages.get(channel="email")
    assert "once we have your device" in booked.body_text
    assert "Bring it in today and it should be ready by" in booked.body_html
    assert booked.context["ticket"]["ready_by"]["state"] == "booked"

    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket, "received")
    update = Dispatch.objects.get(event_name="ticket.status_changed").messages.get(channel="email")
    assert "Ready by " in update.body_text and "Most likely between" in update.body_text
    assert "the clock stops while we wait for your approval" in update.body_text
