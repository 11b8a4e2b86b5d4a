"""A stranger who knows a customer's email books a repair (issue #15, item 1).

They must not change what the shop holds about that customer, and every message goes to the
contact of the ticket it is about: the customer's earlier repair keeps texting the customer, the
stranger's booking reaches only what the stranger typed.
"""

from __future__ import annotations

import pytest

from notifications.models import Dispatch, Message
from repairs import services
from repairs.models import Customer
from repairs.services import CustomerDetails, DeviceDetails
from tests.factories import CustomerFactory, StaffFactory, make_ticket

pytestmark = pytest.mark.django_db

STRANGER = CustomerDetails(
    name="Mallory Stranger", email="ANA@example.com", phone="+44 7700 900666", preferred_contact="sms"
)


@pytest.fixture
def walk_in():
    """A customer without a login, booked in at the counter earlier, who likes texts."""
    return CustomerFactory(
        name="Ana Lopes", email="ana@example.com", phone="+44 7700 900001", preferred_contact="sms"
    )


def _book(details: CustomerDetails, user=None):
    return services.book_repair(
        customer=details,
        device=DeviceDetails(kind="phone", brand="Google", model="Pixel 8"),
        problem="The phone restarts when the camera opens.",
        user=user,
    )


def _stored(customer: Customer) -> tuple[str, str, str, str]:
    customer.refresh_from_db()
    return (customer.name, customer.email, customer.phone, customer.preferred_contact)


def test_a_strangers_booking_never_changes_a_customer_on_file(walk_in):
    before = _stored(walk_in)
    ticket = _book(STRANGER)
    assert _stored(walk_in) == before
    assert ticket.customer_id != walk_in.pk
    assert (ticket.customer.name, ticket.customer.phone, ticket.customer.preferred_contact) == (
        "Mallory Stranger",
        "+44 7700 900666",
        "sms",
    )
    # The stranger's ticket is not part of the customer's repairs (history, export, account).
    assert list(walk_in.tickets.all()) == []


def test_the_same_details_again_reuse_the_login_less_customer(walk_in):
    ticket = _book(
        CustomerDetails(
            name="ana  lopes", email="Ana@Example.com", phone="+447700900001", preferred_contact="sms"
        )
    )
    assert ticket.customer_id == walk_in.pk
    assert Customer.objects.count() == 1


def test_staff_at_the_counter_may_update_a_walk_ins_details(walk_in):
    ticket = _book(
        CustomerDetails(
            name="Ana Lopes", email="ana@example.com", phone="+44 7700 900002", preferred_contact="email"
        ),
        user=StaffFactory(),
    )
    assert ticket.customer_id == walk_in.pk
    assert _stored(walk_in)[2:] == ("+44 7700 900002", "email")


def test_the_booking_page_keeps_the_customer_on_file(client, walk_in):
    before = _stored(walk_in)
    response = client.post(
        "/book/",
        {
            "name": "Mallory Stranger",
            "email": "ana@example.com",
            "phone": "+44 7700 900666",
            "preferred_contact": "sms",
            "kind": "phone",
            "brand": "Google",
            "model": "Pixel 8",
            "condition_on_intake": "No visible damage",
            "problem_description": "The phone restarts when the camera opens.",
        },
    )
    assert response.status_code == 302
    assert _stored(walk_in) == before


def test_messages_go_to_the_contact_of_the_ticket_they_are_about(
    walk_in, twilio_fake, django_capture_on_commit_callbacks
):
    own = make_ticket(customer=walk_in)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = _book(STRANGER)
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(own, "received")
        services.transition_ticket(theirs, "received")

    own_sms = Message.objects.get(ticket=own, channel="sms", dispatch__event_name="ticket.status_changed")
    assert own_sms.recipient == "+447700900001"
    own_email = Message.objects.get(ticket=own, channel="email", dispatch__event_name="ticket.status_changed")
    assert own_email.recipient == "ana@example.com" and "Ana" in own_email.body_text
    assert "Mallory" not in own_email.body_text

    booked = Dispatch.objects.get(ticket=theirs, event_name="ticket.booked")
    email = booked.messages.get(channel="email")
    assert email.recipient.lower() == "ana@example.com"  # the address the stranger typed
    assert "Mallory" in email.body_text and "Ana" not in email.body_text
    their_sms = Message.objects.get(
        ticket=theirs, channel="sms", dispatch__event_name="ticket.status_changed"
    )
    assert their_sms.recipient == "+447700900666"
    assert not Message.objects.filter(ticket=own, recipient="+447700900666").exists()
