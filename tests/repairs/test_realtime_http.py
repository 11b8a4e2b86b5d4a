"""HTTP side of live tracking: the staff statistics endpoint and the realtime demo page."""

import pytest
from django.urls import reverse

from repairs.models import TicketEvent
from repairs.realtime import stats
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_stats():
    stats.reset()
    yield
    stats.reset()


def test_stats_endpoint_is_for_staff_only(client, customer, technician, staff_user):
    url = reverse("api-realtime-stats")
    assert client.get(url).status_code == 401
    client.force_login(customer.user)
    assert client.get(url).status_code == 403
    client.force_login(technician)
    assert client.get(url).json() == {"detail": "Only shop staff may see this.", "errors": {}}
    client.force_login(staff_user)
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"connections": 0, "by_role": {}, "by_room": {}, "messages_sent": 0}


def test_demo_page_shows_three_views_to_staff(client, staff_user, ticket):
    client.force_login(staff_user)
    response = client.get(reverse("realtime-demo"), {"ticket": ticket.reference})
    assert response.status_code == 200
    html = response.content.decode()
    for view in ('data-view="customer"', 'data-view="technician"', 'data-view="staff"'):
        assert view in html
    assert f"/ws/repairs/{ticket.reference}/?as=customer" in html


def test_demo_page_refuses_everyone_else(client, customer, technician):
    response = client.get(reverse("realtime-demo"))
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    for user in (customer.user, technician):
        client.force_login(user)
        assert client.get(reverse("realtime-demo")).status_code == 404


@pytest.mark.parametrize(
    ("kind", "event_kind"),
    [
        ("status", "ticket.status_changed"),
        ("milestone", "ticket.milestone_reached"),
        ("photo", "ticket.photo_added"),
        ("quality_check", "ticket.quality_checked"),
        ("note_public", "ticket.note_added"),
        ("note_internal", "ticket.note_added"),
    ],
)
def test_demo_buttons_fire_each_kind_through_the_services(client, staff_user, ticket, kind, event_kind):
    client.force_login(staff_user)
    url = reverse("realtime-demo-fire", args=[ticket.reference])
    response = client.post(url, {"kind": kind}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert TicketEvent.objects.filter(ticket=ticket).last().kind == event_kind


def test_demo_refuses_unknown_kinds_and_closed_tickets(client, staff_user):
    client.force_login(staff_user)
    ticket = make_ticket()
    url = reverse("realtime-demo-fire", args=[ticket.reference])
    response = client.post(url, {"kind": "explode"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "Choose one of" in response.json()["message"]
    from repairs import services

    services.transition_ticket(ticket, "cancelled")
    response = client.post(url, {"kind": "status"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "closed" in response.json()["message"]
