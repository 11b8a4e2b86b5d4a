"""Open pixel and click redirects: signed links, no open redirect, statuses only move forward."""

from __future__ import annotations

import re

import pytest

from notifications.models import Message, MessageStatus
from notifications.services import tracking
from tests.notifications.factories import drain, notify

pytestmark = pytest.mark.django_db
S = MessageStatus


@pytest.fixture
def sent_email(smtp_server, ticket):
    notify(ticket.customer, ticket=ticket, channels=["email"], mode="chosen")
    drain()
    (received,) = smtp_server.messages
    return Message.objects.get(), received.part("text/html")


def local(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_the_open_pixel_records_the_first_open(client, sent_email):
    message, html = sent_email
    pixel = re.search(r'src="(http://testserver/notifications/o/[^"]+)"', html).group(1)

    response = client.get(local(pixel), headers={"User-Agent": "Mail/1.0"})
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert "no-store" in response["Cache-Control"]
    client.get(local(pixel))  # opened again: no second event
    message.refresh_from_db()
    assert message.status == S.OPENED and message.opened_at is not None
    assert message.events.filter(kind="open").count() == 1


def test_a_click_redirects_to_the_signed_target_and_counts(client, sent_email, ticket):
    message, html = sent_email
    link = re.search(r'href="(http://testserver/notifications/c/[^"]+)"', html).group(1)

    response = client.get(local(link))
    assert response.status_code == 302 and response["Location"] == ticket.tracking_url
    message.refresh_from_db()
    assert message.status == S.CLICKED
    assert message.clicked_at is not None and message.opened_at is not None  # a click implies an open


def test_tampered_links_do_not_redirect_anywhere(client, sent_email):
    message, _ = sent_email
    forged = tracking.click_url(str(message.token), "https://evil.example/").replace(":", "x", 1)
    assert client.get(local(forged)).status_code == 404
    # a link signed with another salt (an open pixel's value) is not a click link
    pixel = tracking.open_pixel_url(str(message.token))
    signed = pixel.rsplit("/", 1)[1].removesuffix(".gif")
    assert client.get(f"/notifications/c/{signed}/").status_code == 404
    assert client.get("/notifications/o/not-a-signature.gif").status_code == 404
    message.refresh_from_db()
    assert message.status == S.SENT


def test_only_web_links_can_be_signed_for_redirects(sent_email):
    message, _ = sent_email
    signed = tracking.click_url(str(message.token), "javascript:alert(1)").rsplit("/c/", 1)[1].rstrip("/")
    assert tracking.read_click(signed) is None


def test_an_open_never_moves_a_queued_or_clicked_message(customer):
    notify(customer, channels=["email"], mode="chosen")
    message = Message.objects.get()
    assert tracking.record_open(str(message.token)) is True  # recorded as an event...
    message.refresh_from_db()
    assert message.status == S.QUEUED  # ...but a message never sent cannot be "opened"
