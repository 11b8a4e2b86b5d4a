"""Details typed into the public booking form are anyone's (issue #15, item 4): no texts to a
number until it is confirmed (link in the booking email, or the device brought in), emails to
unconfirmed addresses capped per address and in total per day, and the typed name rendered as
short plain text that cannot carry a link."""

from __future__ import annotations

import re

import pytest

from notifications.models import Message, MessageStatus
from repairs import services
from repairs.contact import contact_confirmation_token
from repairs.models import Customer
from repairs.services import CustomerDetails, DeviceDetails

pytestmark = pytest.mark.django_db


def _book(email="sam@example.com", name="Sam Reyes", phone="+44 7700 900777", preferred="sms"):
    return services.book_repair(
        customer=CustomerDetails(name=name, email=email, phone=phone, preferred_contact=preferred),
        device=DeviceDetails(kind="phone", brand="Google", model="Pixel 8"),
        problem="The phone restarts when the camera opens.",
    )


def _messages(ticket, channel):
    return Message.objects.filter(ticket=ticket, channel=channel).order_by("pk")


def test_no_text_to_a_typed_number_until_the_device_is_checked_in(
    twilio_fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _book()
    (sms,) = _messages(ticket, "sms")
    assert sms.status == MessageStatus.SKIPPED and "not confirmed" in sms.last_error
    assert _messages(ticket, "email").get().status != MessageStatus.SKIPPED  # the email goes

    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket, "received")  # at the counter, in person
    assert Customer.objects.get(pk=ticket.customer_id).contact_confirmed
    queued = _messages(ticket, "sms").exclude(status=MessageStatus.SKIPPED)
    assert [m.recipient for m in queued] == ["+447700900777"]


def test_the_booking_email_carries_a_link_that_confirms_the_details(
    client, twilio_fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _book()
    email = _messages(ticket, "email").get()
    link = re.search(r"http://testserver(/contact/confirm/[^/\s]+/)", email.body_text).group(1)
    assert link in email.body_html

    page = client.get(link)  # a mail scanner following the link confirms nothing
    assert page.status_code == 200 and "ending in 777" in page.content.decode()
    assert not Customer.objects.get(pk=ticket.customer_id).contact_confirmed
    done = client.post(link)
    assert done.status_code == 200 and "confirmed" in done.content.decode()
    assert Customer.objects.get(pk=ticket.customer_id).contact_confirmed

    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket, "cancelled")
    sent = _messages(ticket, "sms").exclude(status=MessageStatus.SKIPPED)
    assert [m.recipient for m in sent] == ["+447700900777"]


def test_a_confirmation_link_for_other_details_or_forged_is_refused(client):
    ticket = _book()
    customer = ticket.customer
    token = contact_confirmation_token(customer)
    Customer.objects.filter(pk=customer.pk).update(phone="+44 7700 900999")  # details changed since
    assert client.post(f"/contact/confirm/{token}/").status_code == 404
    assert client.post(f"/contact/confirm/{token[:-2]}xx/").status_code == 404
    assert not Customer.objects.get(pk=customer.pk).contact_confirmed


def test_emails_to_one_unconfirmed_address_are_capped_per_day(settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_UNCONFIRMED_PER_ADDRESS_DAILY = 2
    with django_capture_on_commit_callbacks(execute=True):
        tickets = [_book(email="victim@example.com", name=f"Name {n}", preferred="email") for n in "abc"]
        other = _book(email="someone.else@example.com", preferred="email")
    statuses = [_messages(t, "email").get().status for t in tickets]
    assert statuses[:2] != [MessageStatus.SKIPPED] * 2 and MessageStatus.SKIPPED not in statuses[:2]
    third = _messages(tickets[2], "email").get()
    assert third.status == MessageStatus.SKIPPED and "unconfirmed address" in third.last_error
    assert _messages(other, "email").get().status != MessageStatus.SKIPPED  # other addresses unaffected


def test_a_daily_budget_caps_emails_to_unconfirmed_addresses(
    settings, ticket, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_UNCONFIRMED_DAILY_BUDGET = 2
    with django_capture_on_commit_callbacks(execute=True):
        tickets = [_book(email=f"rotating{n}@example.com", preferred="email") for n in range(3)]
    assert [_messages(t, "email").get().status == MessageStatus.SKIPPED for t in tickets] == [
        False,
        False,
        True,
    ]
    assert "budget" in _messages(tickets[2], "email").get().last_error
    # Customers the shop knows are never held by it.
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket, "received")
    assert _messages(ticket, "email").exclude(status=MessageStatus.SKIPPED).exists()


def test_a_typed_name_is_short_plain_text_in_messages(django_capture_on_commit_callbacks):
    name = 'Claim £500 now at http://evil.example/login <a href="x">here</a> or call 07700900123 ' + "x" * 20
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _book(name=name, preferred="email")
    email = _messages(ticket, "email").get()
    for text in (email.body_text, email.body_html, email.subject):
        assert "evil.example" not in text and "http://evil" not in text
        assert 'href="x"' not in text and "07700900123" not in text
    greeting = email.context["customer"]["name"]
    assert len(greeting) <= 40 and "<" not in greeting and "://" not in greeting
    assert email.body_text.startswith("Hello Claim,")
