"""Logout leaves nothing private in the browser (issue #15, item 7): the logout answer clears the
site's caches and storage, and pages of a signed-in session are never stored (``no-store``), so
neither the HTTP cache nor the service worker keeps them. A tracking link opened as a guest keeps
its offline copy (``private, no-cache``: never in shared caches, revalidated when online)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_logout_clears_the_sites_caches_and_storage_but_not_other_cookies(client, customer):
    client.force_login(customer.user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


@pytest.mark.parametrize("name", ["track", "account-repairs", "home", "book"])
def test_pages_of_a_signed_in_session_are_never_stored(client, customer, name):
    ticket = make_ticket(customer=customer)
    client.force_login(customer.user)
    url = reverse(name, args=[ticket.tracking_token]) if name == "track" else reverse(name)
    response = client.get(url)
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_photos_seen_while_signed_in_are_never_stored(client, customer):
    from tests.repairs.test_pages import add_photo

    ticket = make_ticket(customer=customer)
    photo = add_photo(ticket, visible=True)
    client.force_login(customer.user)
    for url in (
        reverse("track-photo", args=[ticket.tracking_token, photo.pk]),
        reverse("photo", args=[photo.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_a_tracking_link_opened_as_a_guest_keeps_its_offline_copy(client):
    ticket = make_ticket()
    response = client.get(reverse("track", args=[ticket.tracking_token]))
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-cache"} <= directives and "no-store" not in directives
