"""Ready-by estimates where the customer looks: tracking page, live socket, promises, fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.urls import reverse

from repairs import services
from repairs.models import ReadyByEstimate, TicketEvent
from repairs.readyby import selectors
from repairs.readyby.services import promise_ready_by
from repairs.services import CustomerDetails, DeviceDetails
from revivatech.routing import websocket_urlpatterns
from tests.factories import TechnicianFactory, advance, backdate_status, make_ticket

# Monday 7 December 2026, 10:00 in London: the shop is open (mon-fri 09-18, sat 10-16 by default).
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def book(**device) -> object:
    return services.book_repair(
        customer=CustomerDetails(name="Casey Jones", email="casey@example.com"),
        device=DeviceDetails(kind=device.get("kind", "phone"), brand="Apple", model="iPhone 13"),
        problem="Cracked screen after a drop",
    )


@pytest.mark.django_db
@time_machine.travel(MONDAY, tick=False)
def test_a_new_booking_shows_its_estimate_on_the_tracking_page_and_says_it_is_rough(client):
    ticket = book()
    response = client.get(reverse("track", args=[ticket.tracking_token]))
    assert response.status_code == 200
    ready_by = response.context["ready_by"]
    assert ready_by["state"] == "booked"
    assert ready_by["method"] == "default"  # no history at all: typical times, and it says so
    html = response.content.decode()
    assert 'id="ready-by"' in html
    assert "once we have your device" in html
    assert "Bring it in today and it should be ready by" in html
    assert "we do not have enough repair history yet" in html
    # Computed with the booking, stored as the ticket's current estimate and in the event's snapshot.
    estimate = ReadyByEstimate.objects.get(ticket=ticket, current=True)
    assert estimate.status == "booked" and estimate.method == "default"
    booked = TicketEvent.objects.get(ticket=ticket, seq=1)
    assert booked.payload["ticket"]["ready_by"]["headline"] == ready_by["headline"]


@pytest.mark.django_db
@time_machine.travel(MONDAY, tick=False)
def test_fallback_uses_the_median_of_this_kind_of_device_once_there_is_history():
    # Six laptop repairs (the factory device) took 9 working hours each (Mon 09:00 → Mon 18:00).
    for _ in range(6):
        done = advance(
            make_ticket(),
            "received",
            "diagnosing",
            "awaiting_approval",
            "approved",
            "in_repair",
            "quality_check",
            "ready_for_pickup",
        )
        backdate_status(done, "received", MONDAY - timedelta(days=7, hours=1))
        backdate_status(done, "ready_for_pickup", MONDAY - timedelta(days=7, hours=-8))
    ticket = advance(make_ticket(), "received")
    estimate = ReadyByEstimate.objects.get(ticket=ticket, current=True)
    assert estimate.method == "median_by_kind"
    assert estimate.hours_p50 == pytest.approx(9.0, abs=0.01)
    assert estimate.likely == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # 8 h today + 1 h Tuesday
    shown = selectors.customer_ready_by(ticket)
    assert shown["headline"] == "Ready by tomorrow morning"
    assert "A rough estimate: the usual time for a laptop repair here (6 repairs)" in shown["basis"]
    assert "the clock stops while we wait for your approval" in shown["note"]


@pytest.mark.django_db
@time_machine.travel(MONDAY, tick=False)
def test_waiting_for_approval_stops_the_clock_and_is_the_customers_time():
    ticket = advance(make_ticket(), "received", "diagnosing", "awaiting_approval")
    shown = selectors.customer_ready_by(ticket)
    assert shown["state"] == "waiting_approval"
    assert shown["headline"].endswith("once you approve the quote")
    assert shown["detail"].startswith("Approve today and it should be ready by")
    assert shown["note"].startswith("The clock stops while we wait for your approval")
    # Two days later the customer approves: the dates count from then, not from the quote.
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        approved = services.decide_quote(ticket, approved=True)
        estimate = ReadyByEstimate.objects.get(ticket=approved, current=True)
        assert estimate.earliest >= MONDAY + timedelta(days=2)
    assert selectors.customer_ready_by(ticket.__class__.objects.get(pk=ticket.pk)) is not None


@pytest.mark.django_db
@time_machine.travel(MONDAY, tick=False)
def test_a_promise_overrides_the_estimate_everywhere(client):
    tech = TechnicianFactory()
    ticket = advance(make_ticket(technician=tech), "received")
    promised = datetime(2026, 12, 9, 17, 0, tzinfo=UTC)  # Wednesday 5 pm
    promise_ready_by(ticket, promised, by=tech, note="Screen in stock")
    ticket.refresh_from_db()
    assert ticket.promised_ready_at == promised
    shown = selectors.customer_ready_by(ticket)
    assert shown["state"] == "promise"
    assert shown["headline"] == "Promised ready by Wednesday 5 pm"
    event = TicketEvent.objects.filter(ticket=ticket).order_by("-seq").first()
    assert event.kind == "ticket.ready_by_updated" and event.customer_visible
    assert event.payload["ticket"]["ready_by"]["state"] == "promise"
    html = client.get(reverse("track", args=[ticket.tracking_token])).content.decode()
    assert "Promised ready by Wednesday 5 pm" in html
    # A status change keeps the promise; withdrawing it brings the estimate back.
    advance(ticket, "diagnosing")
    ticket.refresh_from_db()
    assert selectors.customer_ready_by(ticket)["state"] == "promise"
    promise_ready_by(ticket, None, by=tech)
    ticket.refresh_from_db()
    assert selectors.customer_ready_by(ticket)["state"] == "estimate"
    with pytest.raises(ValidationError):
        promise_ready_by(ticket, MONDAY - timedelta(hours=1), by=tech)


@pytest.mark.django_db
@time_machine.travel(MONDAY, tick=False)
def test_staff_lists_late_at_risk_and_due_soon():
    late = advance(make_ticket(), "received")
    ReadyByEstimate.objects.filter(ticket=late, current=True).update(
        latest=MONDAY - timedelta(hours=1), likely=MONDAY - timedelta(hours=3)
    )
    soon = advance(make_ticket(), "received")
    ReadyByEstimate.objects.filter(ticket=soon, current=True).update(
        likely=MONDAY + timedelta(hours=2), latest=MONDAY + timedelta(hours=20)
    )
    promised = advance(make_ticket(), "received")
    promise_ready_by(promised, MONDAY + timedelta(hours=1))
    ReadyByEstimate.objects.filter(ticket=promised, current=True).update(likely=MONDAY + timedelta(hours=30))
    assert set(selectors.late_tickets()) == {late}
    assert set(selectors.at_risk_tickets()) == {promised}
    assert soon in set(selectors.due_soon_tickets())
    assert [row["risk"] for row in selectors.watch_list()][:2] == ["late", "at_risk"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_status_change_updates_the_estimate_live_on_the_customers_socket():
    from channels.db import database_sync_to_async as db

    with time_machine.travel(MONDAY, tick=False):
        ticket = await db(book)()
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/repairs/{ticket.reference}/?token={ticket.tracking_token}"
    )
    communicator.scope["user"] = AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    snapshot = json.loads(await communicator.receive_from(timeout=2))
    assert snapshot["type"] == "snapshot" and snapshot["ready_by"]["state"] == "booked"

    await db(services.transition_ticket)(ticket, "received")
    message = json.loads(await communicator.receive_from(timeout=2))
    assert message["kind"] == "ticket.status_changed"
    ready_by = message["payload"]["ticket"]["ready_by"]
    assert ready_by["state"] == "estimate" and ready_by["headline"].startswith("Ready by")
    assert set(ready_by) <= {
        "state",
        "headline",
        "detail",
        "note",
        "basis",
        "promised",
        "method",
        "earliest",
        "likely",
        "latest",
    }
    await db(services.transition_ticket)(ticket, "diagnosing")
    await db(services.transition_ticket)(ticket, "unrepairable")
    messages = [json.loads(await communicator.receive_from(timeout=2)) for _ in range(2)]
    assert messages[-1]["payload"]["ticket"]["ready_by"] is None  # closed: the panel hides
    await communicator.disconnect()


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 12, 13, 12, 0, tzinfo=UTC), tick=False)  # Sunday: closed
def test_a_booking_made_while_the_shop_is_closed_counts_from_the_next_opening():
    ticket = book()
    shown = selectors.customer_ready_by(ticket)
    assert shown["detail"].startswith("Bring it in tomorrow and it should be ready by")
    estimate = ReadyByEstimate.objects.get(ticket=ticket, current=True)
    assert estimate.earliest >= datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # Monday's opening
