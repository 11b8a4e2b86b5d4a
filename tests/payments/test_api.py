"""/api/v1/invoices/: read-only, staff see all, a customer their own issued invoices, others none."""

import pytest
from rest_framework.test import APIClient

from payments import services
from tests.payments.factories import issued_invoice, ready_ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/invoices/"


def as_user(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def invoices(ready, other_customer):
    mine = issued_invoice(ready)
    theirs = issued_invoice(ready_ticket(customer=other_customer))
    draft = services.create_invoice(ready, lines=[services.LineInput("part", "Cable", 900)])
    return mine, theirs, draft


def ids(response):
    return {item["id"] for item in response.json()["results"]}


def test_who_sees_which_invoice(invoices, customer, other_customer, technician, staff_user):
    mine, theirs, draft = invoices
    assert ids(as_user(customer.user).get(URL)) == {mine.public_id}
    assert ids(as_user(other_customer.user).get(URL)) == {theirs.public_id}
    assert ids(as_user(technician).get(URL)) == set()
    assert ids(as_user(staff_user).get(URL)) == {mine.public_id, theirs.public_id, draft.public_id}
    assert APIClient().get(URL).status_code == 401


def test_an_invoice_in_minor_units_with_lines_and_payments(invoices, customer):
    mine, theirs, _ = invoices
    services.record_counter_payment(mine)
    data = as_user(customer.user).get(f"{URL}{mine.public_id}/").json()
    assert (data["number"], data["status"], data["total"], data["tax_amount"]) == (
        mine.number,
        "paid",
        8900,
        1483,
    )
    assert data["lines"] == [
        {
            "kind": "labour",
            "description": "Repair as quoted",
            "quantity": 1,
            "unit_amount": 8900,
            "amount": 8900,
        }
    ]
    assert [(p["provider"], p["status"], p["amount"]) for p in data["payments"]] == [
        ("counter", "succeeded", 8900)
    ]
    other = as_user(customer.user).get(f"{URL}{theirs.public_id}/")
    assert other.status_code == 404 and other.json()["errors"] == {}


def test_filters_are_checked(invoices, staff_user, ready):
    client = as_user(staff_user)
    assert len(ids(client.get(URL, {"repair": ready.reference.lower()}))) == 2
    assert len(ids(client.get(URL, {"status": "draft"}))) == 1
    bad = client.get(URL, {"status": "lost"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("Invalid input. status:")


def test_the_schema_describes_the_endpoint(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/invoices/{public_id}/" in schema
