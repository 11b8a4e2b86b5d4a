"""Each provider's real SDK against a loopback fake speaking its wire format: success, 429 →
deferral, 5xx → retry → success, retries exhausted → dead letter, permanent errors, failover."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Message, MessageStatus, PushDevice
from notifications.services import delivery
from notifications.services.preferences import update_preferences
from tests.notifications.factories import PushDeviceFactory, drain, notify

pytestmark = pytest.mark.django_db
S = MessageStatus


@pytest.fixture
def texting_customer(customer):
    update_preferences(customer, {("status", "sms"): True})
    return customer


def only(channel: str) -> Message:
    return Message.objects.get(channel=channel)


# --- Twilio ---------------------------------------------------------------------------------------


def test_twilio_sms_is_sent_with_status_callback(twilio_fake, texting_customer, ticket):
    notify(texting_customer, ticket=ticket, channels=["sms"], mode="chosen")
    drain()

    message = only("sms")
    (sms,) = twilio_fake.sent
    assert message.status == S.SENT and message.provider == "twilio"
    assert message.provider_message_id == sms.sid and sms.sid.startswith("SM")
    assert sms.to == "+447700900123"
    assert sms.body == f"RevivaTech: {ticket.reference} is Booked"
    assert sms.status_callback == f"http://testserver/notifications/webhooks/twilio/status/?m={message.token}"


def test_twilio_429_defers_without_counting_an_attempt(twilio_fake, texting_customer):
    twilio_fake.fail_next("429")
    notify(texting_customer, channels=["sms"], mode="chosen")
    before = timezone.now()
    delivery.deliver_batch()

    message = only("sms")
    assert message.status == S.QUEUED
    assert message.attempts == 0
    assert message.not_before > before
    assert [e.kind for e in message.events.all()] == ["deferred"]
    assert twilio_fake.sent == []


def test_twilio_5xx_is_retried_with_backoff_then_sent(twilio_fake, texting_customer, settings):
    twilio_fake.fail_next("500", "503")
    notify(texting_customer, channels=["sms"], mode="chosen")

    delivery.deliver_batch()
    message = only("sms")
    assert message.status == S.QUEUED and message.attempts == 1
    assert "Twilio 500" in message.last_error
    # backoff: base 30 s for the first failure, half fixed, half random
    assert timedelta(seconds=14) <= message.not_before - message.updated_at <= timedelta(seconds=31)

    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0  # time passes
    Message.objects.filter(pk=message.pk).update(not_before=timezone.now())
    drain()
    message.refresh_from_db()
    assert message.status == S.SENT and message.attempts == 3
    assert len(twilio_fake.sent) == 1
    assert [e.kind for e in message.events.all()] == ["retry", "retry"]


def test_twilio_retries_exhausted_end_in_the_dead_letters(twilio_fake, texting_customer, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    twilio_fake.set_mode("500")
    notify(texting_customer, channels=["sms"], mode="chosen")
    drain()

    message = only("sms")
    assert message.status == S.DEAD
    assert message.attempts == 3
    assert "Twilio 500" in message.last_error
    assert [e.kind for e in message.events.all()] == ["retry", "retry", "dead"]


def test_twilio_invalid_number_fails_at_once(twilio_fake, texting_customer):
    twilio_fake.fail_next("invalid_number")
    notify(texting_customer, channels=["sms"], mode="chosen")
    drain()

    message = only("sms")
    assert message.status == S.FAILED and message.attempts == 1
    assert "21211" in message.last_error


# --- SendGrid -------------------------------------------------------------------------------------


def test_sendgrid_mail_carries_our_token_and_both_bodies(sendgrid_fake, customer, ticket):
    notify(customer, ticket=ticket, channels=["email"], mode="chosen")
    drain()

    message = only("email")
    (mail,) = sendgrid_fake.sent
    assert message.status == S.SENT and message.provider == "sendgrid"
    assert message.provider_message_id == mail.message_id
    assert mail.token == str(message.token) and mail.to == customer.email
    assert mail.payload["subject"] == f"Update on {ticket.reference}"
    assert "Hello" in mail.content("text/plain") and "<strong>Booked</strong>" in mail.content("text/html")
    assert mail.payload["tracking_settings"]["click_tracking"]["enable"] is False


def test_sendgrid_429_defers_and_5xx_retries(sendgrid_fake, customer, settings):
    sendgrid_fake.fail_next("429")
    notify(customer, channels=["email"], mode="chosen")
    delivery.deliver_batch()
    assert only("email").status == S.QUEUED and only("email").attempts == 0

    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    Message.objects.update(not_before=timezone.now())
    sendgrid_fake.fail_next("500")
    # the 429 also paused SendGrid briefly for every worker: wait it out
    delivery.drain(max_seconds=5)
    drain()
    message = only("email")
    assert message.status == S.SENT and message.attempts == 2
    assert len(sendgrid_fake.sent) == 1


def test_sendgrid_down_fails_over_to_smtp(sendgrid_fake, smtp_server, customer, settings):
    settings.NOTIFICATIONS_PROVIDERS = {**settings.NOTIFICATIONS_PROVIDERS, "email": ["sendgrid", "smtp"]}
    sendgrid_fake.set_mode("503")
    notify(customer, channels=["email"], mode="chosen")
    notify(customer, channels=["email"], mode="chosen")
    drain()

    messages = list(Message.objects.filter(channel="email").order_by("pk"))
    assert [m.status for m in messages] == [S.SENT, S.SENT]
    assert [m.provider for m in messages] == ["smtp", "smtp"]
    assert len(smtp_server.messages) == 2
    # the first message found SendGrid down; the second went straight to SMTP
    sendgrid_tries = [r for r in sendgrid_fake.requests if r.path == "/v3/mail/send"]
    assert len(sendgrid_tries) == 1
    assert messages[0].attempts == 1 and messages[0].last_error == ""


# --- FCM ------------------------------------------------------------------------------------------


def test_fcm_push_is_sent_to_each_active_device(fcm_fake, customer, ticket):
    first = PushDeviceFactory(customer=customer)
    second = PushDeviceFactory(customer=customer, token_kind="installation_id")
    PushDeviceFactory(customer=customer, active=False)
    notify(customer, ticket=ticket, channels=["push"], mode="chosen")
    drain()

    messages = Message.objects.filter(channel="push")
    assert sorted(m.recipient for m in messages) == sorted([first.token, second.token])
    assert all(m.status == S.SENT and m.provider_message_id.startswith("projects/") for m in messages)
    by_target = {push.target: push for push in fcm_fake.sent}
    assert by_target[first.token].target_field == "token"
    assert by_target[second.token].target_field == "fid"
    push = by_target[first.token]
    assert push.message["notification"] == {"title": "Booked", "body": f"Your repair {ticket.reference}"}
    assert push.message["data"]["ticket"] == ticket.reference
    assert fcm_fake.token_requests == 1  # one OAuth token for both sends


def test_fcm_unregistered_token_is_deactivated(fcm_fake, customer):
    device = PushDeviceFactory(customer=customer)
    fcm_fake.unregister(device.token)
    notify(customer, channels=["push"], mode="chosen")
    drain()

    message = only("push")
    device.refresh_from_db()
    assert message.status == S.FAILED and "Unregistered" in message.last_error
    assert device.active is False and "Unregistered" in device.deactivation_reason
    # the next notification does not even try the dead device
    notify(customer, channels=["push"], mode="chosen")
    assert Message.objects.filter(channel="push", status=S.SKIPPED).count() == 1


def test_fcm_quota_defers_and_unavailable_retries(fcm_fake, customer, settings):
    PushDeviceFactory(customer=customer)
    fcm_fake.fail_next("429")
    notify(customer, channels=["push"], mode="chosen")
    delivery.deliver_batch()
    assert only("push").status == S.QUEUED and only("push").attempts == 0

    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    Message.objects.update(not_before=timezone.now())
    fcm_fake.fail_next("503")
    delivery.drain(max_seconds=5)
    drain()
    message = only("push")
    assert message.status == S.SENT and message.attempts == 2
    assert PushDevice.objects.get().active is True


# --- Amazon SES (anymail + boto3) -----------------------------------------------------------------


def test_ses_email_is_sent_through_anymail(ses_fake, customer, ticket):
    notify(customer, ticket=ticket, channels=["email"], mode="chosen")
    drain()

    message = only("email")
    (raw,) = ses_fake.sent
    assert message.status == S.SENT and message.provider == "ses"
    assert message.provider_message_id == raw.message_id
    assert raw.token == str(message.token)
    assert raw.mime["Subject"] == f"Update on {ticket.reference}"
    assert raw.mime.is_multipart()


def test_ses_throttling_defers_and_rejection_fails(ses_fake, customer):
    ses_fake.fail_next("throttle")
    notify(customer, channels=["email"], mode="chosen")
    delivery.deliver_batch()
    assert only("email").status == S.QUEUED and only("email").attempts == 0

    Message.objects.update(not_before=timezone.now())
    ses_fake.fail_next("rejected")
    delivery.drain(max_seconds=5)
    message = only("email")
    assert message.status == S.FAILED and "MessageRejected" in message.last_error


# --- timeouts and hidden retries ------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["twilio_fake", "sendgrid_fake", "fcm_fake", "ses_fake"])
def test_one_http_request_per_attempt_no_hidden_sdk_retries(request, fixture, customer, settings):
    """firebase-admin retries 500/503 four times with sleeps and boto3 retries too: both are off,
    so a worker is never blocked and every attempt is the outbox's own (counted, backed off)."""
    fake = request.getfixturevalue(fixture)
    channel = {"twilio_fake": "sms", "fcm_fake": "push"}.get(fixture, "email")
    update_preferences(customer, {("status", "sms"): True})
    if channel == "push":
        PushDeviceFactory(customer=customer)
    fake.set_mode("500")
    notify(customer, channels=[channel], mode="chosen")
    delivery.deliver_batch()

    sends = [r for r in fake.requests if r.method == "POST" and r.path not in ("/token",)]
    assert len(sends) == 1
    assert only(channel).status == S.QUEUED and only(channel).attempts == 1


@pytest.mark.parametrize("fixture", ["twilio_fake", "sendgrid_fake"])
def test_sdk_calls_time_out(request, fixture, customer, settings):
    """The Twilio and SendGrid clients have no timeout by default; ours is explicit."""
    fake = request.getfixturevalue(fixture)
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.3
    fake.delay = 2.0
    channel = "sms" if fixture == "twilio_fake" else "email"
    update_preferences(customer, {("status", "sms"): True})
    notify(customer, channels=[channel], mode="chosen")
    started = time.monotonic()
    delivery.deliver_batch()

    assert time.monotonic() - started < 1.5
    message = only(channel)
    assert message.status == S.QUEUED and message.attempts == 1
    assert "unreachable" in message.last_error
