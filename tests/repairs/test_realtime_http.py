"""HTTP side of live tracking: the staff statistics endpoint and the realtime demo page."""

import pytest
from django.urls import reverse

from notifications.models import Dispatch, Message
from repairs import services
from repairs.demo import DEMO_CUSTOMER_EMAIL, create_demo_ticket
from repairs.models import Customer, RepairTicket, TicketEvent
from repairs.realtime import stats
from tests.factories import BOOKING_FORM

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


@pytest.fixture
def demo_ticket(staff_user):
    return create_demo_ticket(by=staff_user)


def test_demo_page_shows_three_views_of_a_demo_ticket_to_staff(client, staff_user, demo_ticket):
    client.force_login(staff_user)
    response = client.get(reverse("realtime-demo"), {"ticket": demo_ticket.reference})
    assert response.status_code == 200
    html = response.content.decode()
    for view in ('data-view="customer"', 'data-view="technician"', 'data-view="staff"'):
        assert view in html
    assert f"/ws/repairs/{demo_ticket.reference}/?as=customer" in html


def test_demo_page_never_shows_or_defaults_to_a_customers_ticket(client, staff_user, ticket):
    client.force_login(staff_user)
    page = client.get(reverse("realtime-demo"))
    assert page.status_code == 200
    assert ticket.reference not in page.content.decode()  # the newest booking is a customer's: not picked
    assert "Start a new demo ticket" in page.content.decode()
    assert client.get(reverse("realtime-demo"), {"ticket": ticket.reference}).status_code == 404


def test_starting_a_demo_ticket_makes_one_for_a_made_up_customer(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("realtime-demo-new"))
    demo = RepairTicket.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?ticket={demo.reference}")
    customer = demo.customer
    assert customer.is_demo and customer.user is None and customer.phone == ""
    assert customer.email.endswith(".invalid")
    client.post(reverse("realtime-demo-new"))
    assert Customer.objects.filter(is_demo=True).count() == 1  # one made-up customer, many tickets
    assert client.get(reverse("realtime-demo")).status_code == 200


def test_demo_page_refuses_everyone_else(client, customer, technician):
    response = client.get(reverse("realtime-demo"))
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    for user in (customer.user, technician):
        client.force_login(user)
        assert client.get(reverse("realtime-demo")).status_code == 404
        assert client.post(reverse("realtime-demo-new")).status_code == 404
    assert not RepairTicket.objects.exists()


KINDS = [
    ("status", "ticket.status_changed"),
    ("milestone", "ticket.milestone_reached"),
    ("photo", "ticket.photo_added"),
    ("quality_check", "ticket.quality_checked"),
    ("note_public", "ticket.note_added"),
    ("note_internal", "ticket.note_added"),
]


@pytest.mark.parametrize(("kind", "event_kind"), KINDS)
def test_demo_buttons_fire_each_kind_on_the_demo_ticket_and_message_nobody(
    client, staff_user, demo_ticket, kind, event_kind, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    url = reverse("realtime-demo-fire", args=[demo_ticket.reference])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"kind": kind}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert TicketEvent.objects.filter(ticket=demo_ticket).last().kind == event_kind
    assert not Message.objects.exists() and not Dispatch.objects.exists()


@pytest.mark.parametrize(("kind", "event_kind"), KINDS)
def test_demo_buttons_refuse_a_customers_ticket(
    client, staff_user, ticket, kind, event_kind, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    url = reverse("realtime-demo-fire", args=[ticket.reference])
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    with django_capture_on_commit_callbacks(execute=True):
        json_answer = client.post(url, {"kind": kind}, HTTP_ACCEPT="application/json")
        form_answer = client.post(url, {"kind": kind})
    assert json_answer.status_code == 403 and json_answer.json()["ok"] is False
    assert "only acts on demo tickets" in json_answer.json()["message"]
    assert form_answer.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "booked"
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    assert not Message.objects.exists() and not Dispatch.objects.exists()


def test_demo_refuses_unknown_kinds_and_closed_tickets(client, staff_user, demo_ticket):
    client.force_login(staff_user)
    url = reverse("realtime-demo-fire", args=[demo_ticket.reference])
    response = client.post(url, {"kind": "explode"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "Choose one of" in response.json()["message"]
    services.transition_ticket(demo_ticket, "cancelled")
    response = client.post(url, {"kind": "status"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "closed" in response.json()["message"]


def test_a_booking_with_the_demo_address_never_joins_the_demo_customer(client, staff_user, demo_ticket):
    form = {**BOOKING_FORM, "email": DEMO_CUSTOMER_EMAIL}
    assert client.post(reverse("book"), form).status_code == 302
    booked = RepairTicket.objects.exclude(pk=demo_ticket.pk).get()
    assert not booked.customer.is_demo and booked.customer_id != demo_ticket.customer_id
