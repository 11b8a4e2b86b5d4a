"""Data protection: a device passcode sent anywhere is never stored; after a customer's GDPR
erasure, the backup/export path (``manage.py dumpdata``) holds none of their personal data."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from analytics.services.gdpr import erase_customer
from repairs.models import Customer, RepairTicket
from tests.factories import DEFAULT_PASSWORD
from tests.payments.factories import issued_invoice, ready_ticket

pytestmark = pytest.mark.django_db

PASSCODE = "864213579"
NAME = "Grace Brewster Hopper"
EMAIL = "grace.hopper@navy.example"
PHONE = "+44 7700 900777"
BOOKING = {
    "name": NAME,
    "email": EMAIL,
    "phone": PHONE,
    "preferred_contact": "email",
    "kind": "phone",
    "brand": "Apple",
    "model": "iPhone 15",
    "serial_number": "F2LXQ0K1N72J",
    "condition_on_intake": "Cracked screen",
    "accessories": "",
    "problem_description": "The screen is cracked across the middle and does not respond to touch.",
}


def dump() -> str:
    """What a backup holds: every model of every app (as the backup/export path runs it)."""
    out = io.StringIO()
    call_command("dumpdata", "--natural-foreign", stdout=out)
    return out.getvalue()


def test_a_passcode_submitted_anywhere_is_not_stored(client, customer, ticket, technician):
    passcode_fields = {
        "passcode": PASSCODE,
        "device_passcode": PASSCODE,
        "pin": PASSCODE,
        "password": PASSCODE,
    }
    # The booking page …
    response = client.post(reverse("book"), {**BOOKING, **passcode_fields})
    assert response.status_code == 302
    # … the quote decision on the tracking page …
    client.post(
        reverse("track-quote", args=[ticket.tracking_token]), {"decision": "approve", **passcode_fields}
    )
    # … the API (a note by the technician, with a passcode field alongside) …
    token = Token.objects.create(user=technician)
    api = client.post(
        f"/api/v1/repairs/{ticket.reference}/notes/",
        {"text": "Checked the battery.", "visibility": "internal", **passcode_fields},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert api.status_code in (201, 400), api.content
    # … and the analytics beacon.
    client.post(
        "/api/v1/events/",
        json.dumps({"events": [{"type": "pageview", "t": 1, "path": "/book/", "passcode": PASSCODE}]}),
        content_type="text/plain",
    )
    assert RepairTicket.objects.filter(customer__email=EMAIL).exists()
    assert PASSCODE not in dump()


def test_the_device_model_has_no_passcode_field():
    from repairs.models import Device

    names = {field.name for field in Device._meta.get_fields()}
    assert not any("pass" in name or name == "pin" for name in names), names


def test_after_erasure_a_dump_holds_none_of_the_customers_personal_data(client, settings):
    settings.AXES_FAILURE_LIMIT = 10
    # A customer with an account books, fails a login, gets an invoice and a note.
    client.post(reverse("book"), BOOKING)
    customer = Customer.objects.get(email=EMAIL)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=EMAIL, email=EMAIL, password=DEFAULT_PASSWORD)
    customer.user = user
    customer.save()
    client.post(reverse("login"), {"username": EMAIL, "password": "wrong-password"})
    ready = ready_ticket(customer=customer)
    invoice = issued_invoice(ready)
    invoice.billing_name, invoice.billing_email = NAME, EMAIL
    invoice.save(update_fields=["billing_name", "billing_email"])
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.filter(username=EMAIL).exists()
    before = dump()
    assert EMAIL in before and NAME in before  # the test data really is there

    erase_customer(customer)

    after = dump()
    leaks = [
        value for value in (NAME, EMAIL, PHONE, "grace.hopper", "7700 900777", "Hopper") if value in after
    ]
    assert leaks == [], leaks
