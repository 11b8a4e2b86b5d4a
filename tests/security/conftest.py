"""Pages of the site by role, for the header, CSRF and CSP tests."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.payments.factories import issued_invoice, ready_ticket


@pytest.fixture
def due_invoice(db, customer, technician):
    """``customer``'s repair, ready to collect, with an issued invoice (so the pay page shows it)."""
    return issued_invoice(ready_ticket(customer=customer, technician=technician))


def public_pages(ticket) -> list[str]:
    token = ticket.tracking_token
    return [
        reverse("home"),
        reverse("book"),
        reverse("login"),
        reverse("track", args=[token]),
        reverse("receipt", args=[token]),
        reverse("payments:pay", args=[token]),
        reverse("offline"),
        "/admin/login/",
        reverse("api-docs"),
        reverse("api-redoc"),
        "/no-such-page/",
    ]


def customer_pages() -> list[str]:
    return [
        reverse("account-repairs"),
        reverse("payments:account-invoices"),
        reverse("notifications-preferences"),
    ]


def staff_pages(ticket) -> list[str]:
    return [
        "/admin/",
        "/admin/repairs/repairticket/",
        f"/admin/repairs/repairticket/{ticket.pk}/change/",
        "/admin/repairs/customer/",
        f"/admin/repairs/customer/{ticket.customer.pk}/change/",
        "/admin/payments/invoice/",
        "/admin/notifications/message/",
        "/admin/repairs/repairticket/add/",
    ]
