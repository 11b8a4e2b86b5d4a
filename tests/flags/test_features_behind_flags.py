"""The new customer-facing features are behind flags: the ready-by estimate (page, emails, socket
snapshot) and the newest-first timeline. Off for a customer, they see the previous behaviour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from repairs import services
from repairs.models import TicketEvent
from repairs.readyby import selectors
from repairs.services import CustomerDetails, DeviceDetails
from revivatech import flags
from revivatech.flags import services as flag_services
from tests.factories import TechnicianFactory, advance

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # the shop is open


def book(email: str = "casey@example.com"):
    return services.book_repair(
        customer=CustomerDetails(name="Casey Jones", email=email),
        device=DeviceDetails(kind="phone", brand="Apple", model="iPhone 13"),
        problem="Cracked screen after a drop",
    )


@time_machine.travel(MONDAY, tick=False)
def test_ready_by_is_on_by_default_and_the_kill_switch_hides_it_everywhere(client):
    ticket = book()
    assert selectors.customer_ready_by(ticket) is not None
    page = client.get(reverse("track", args=[ticket.tracking_token]))
    assert page.context["ready_by"] is not None and "it should be ready by" in page.content.decode()

    flag_services.set_flag("ready_by", everyone=False)
    assert selectors.customer_ready_by(ticket) is None
    page = client.get(reverse("track", args=[ticket.tracking_token]))
    assert page.context["ready_by"] is None and "it should be ready by" not in page.content.decode()
    # New events' snapshots (what the socket sends) carry no estimate either.
    advance(ticket, "received", by=TechnicianFactory())
    latest = TicketEvent.objects.filter(ticket=ticket).order_by("-seq").first()
    assert latest.payload["ticket"].get("ready_by") is None


@time_machine.travel(MONDAY, tick=False)
def test_a_ready_by_rollout_shows_the_estimate_to_the_same_customers_each_time():
    flag_services.set_flag("ready_by", percent=30)
    tickets = [book(f"c{n}@example.com") for n in range(40)]
    shown = {t.pk for t in tickets if selectors.customer_ready_by(t) is not None}
    assert 0 < len(shown) < 40
    assert shown == {t.pk for t in tickets if selectors.customer_ready_by(t) is not None}
    for t in tickets:  # the same answer as the flag gives the customer anywhere else
        assert (t.pk in shown) == flags.is_active("ready_by", customer_id=t.customer_id)


@time_machine.travel(MONDAY, tick=False)
def test_the_timeline_order_follows_its_flag(client):
    ticket = book()
    advance(ticket, "received", by=TechnicianFactory())
    page = client.get(reverse("track", args=[ticket.tracking_token]))
    seqs = [item["event"].seq for item in page.context["timeline"]]
    assert seqs == sorted(seqs, reverse=True) and 'data-order="newest-first"' in page.content.decode()

    flag_services.set_flag("timeline_newest_first", everyone=False)
    page = client.get(reverse("track", args=[ticket.tracking_token]))
    seqs = [item["event"].seq for item in page.context["timeline"]]
    assert seqs == sorted(seqs) and 'data-order="oldest-first"' in page.content.decode()
