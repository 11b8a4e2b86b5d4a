"""Email end to end through a real SMTP server on 127.0.0.1 (aiosmtpd): what the customer gets."""

from __future__ import annotations

import re

import pytest

from notifications.models import Message, MessageStatus
from tests.notifications.factories import MessageTemplateFactory, drain, notify

pytestmark = pytest.mark.django_db


def test_email_arrives_with_subject_both_bodies_and_tracking(smtp_server, ticket):
    dispatch = notify(ticket.customer, ticket=ticket, channels=["email"], mode="chosen")
    drain()

    (received,) = smtp_server.messages
    message = Message.objects.get(dispatch=dispatch, channel="email")
    assert message.status == MessageStatus.SENT and message.provider == "smtp"
    assert received.recipients == [ticket.customer.email]
    assert received.message["Subject"] == f"Update on {ticket.reference}"
    assert received.token == str(message.token)
    text = received.part("text/plain")
    html = received.part("text/html")
    first_name = ticket.customer.name.split()[0]
    assert f"Hello {first_name}, your repair is Booked." in text
    # The customer's own signed preferences link (no login: guests have none).
    assert (
        "Choose which messages you get (no login needed): http://testserver/notifications/preferences/"
        in text
    )
    assert f"Hello {first_name}" in html and "<strong>Booked</strong>" in html
    # an open pixel and links that go through signed click redirects
    assert re.search(r'<img class="pixel" src="http://testserver/notifications/o/[^"]+\.gif"', html)
    assert ticket.tracking_url not in html
    assert re.search(r'href="http://testserver/notifications/c/[^"]+/"', html)
    # Status updates are optional, so they unsubscribe in one click too (RFC 8058).
    url = re.search(r"Unsubscribe from repair status updates by email: (\S+)", text).group(1)
    assert received.message["List-Unsubscribe"].strip() == f"<{url}>"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_marketing_email_has_one_click_unsubscribe(smtp_server, customer, client):
    from notifications.services.preferences import update_preferences

    update_preferences(customer, {("marketing", "email"): True})
    template = MessageTemplateFactory(
        kind="marketing", subject="15% off batteries", sms_body="", push_body=""
    )
    notify(customer, template=template, channels=["email"], mode="chosen")
    drain()

    (received,) = smtp_server.messages
    text, html = received.part("text/plain"), received.part("text/html")
    url = re.search(r"Unsubscribe from offers and news: (\S+)", text).group(1)
    assert url.startswith("http://testserver/notifications/unsubscribe/")
    assert f'href="{url}"' in html  # the unsubscribe link itself is never a tracked redirect
    assert received.message["List-Unsubscribe"].strip() == f"<{url}>"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # RFC 8058: the mail client posts once, no login, no CSRF cookie.
    response = client.post(url.removeprefix("http://testserver"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    from notifications.services.preferences import preference_matrix

    assert preference_matrix(customer)["marketing"]["email"].enabled is False


def test_smtp_temporary_refusal_is_retried_then_sent(smtp_server, customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    smtp_server.fail_next("451")
    notify(customer, channels=["email"], mode="chosen")
    drain()

    message = Message.objects.get(channel="email")
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert [e.kind for e in message.events.all()] == ["retry"]
    assert len(smtp_server.messages) == 1


def test_smtp_permanent_refusal_fails_without_retry(smtp_server, customer):
    smtp_server.fail_next("550")
    notify(customer, channels=["email"], mode="chosen")
    drain()

    message = Message.objects.get(channel="email")
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1
    assert "550" in message.last_error
    assert smtp_server.messages == []


def test_the_console_provider_sends_through_django_console_backend(customer, mailoutbox):
    """Under the test runner Django's locmem outbox stands in for the console."""
    notify(customer, channels=["email"], mode="chosen")
    drain()
    (email,) = mailoutbox
    assert email.to == [customer.email] and email.subject.startswith("Update on")
    assert Message.objects.get().provider == "console"


def test_without_provider_keys_email_is_written_to_files_not_the_terminal(
    customer, settings, tmp_path, capsys
):
    """The embedded default ("file"): one file per message in EMAIL_FILE_PATH, nothing on stdout."""
    settings.NOTIFICATIONS_PROVIDERS = {**settings.NOTIFICATIONS_PROVIDERS, "email": ["file"]}
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    notify(customer, channels=["email"], mode="chosen")
    notify(customer, channels=["email"], mode="chosen")
    drain()
    files = sorted((tmp_path / "mail").iterdir())
    assert len(files) == 2
    source = files[0].read_text()
    assert f"To: {customer.email}" in source and "Subject: Update on" in source
    assert set(Message.objects.values_list("provider", "status")) == {("file", "sent")}
    assert "Subject:" not in capsys.readouterr().out
