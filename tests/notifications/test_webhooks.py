"""Provider webhooks: SendGrid's signed event webhook (ECDSA), Twilio status callbacks
(X-Twilio-Signature over the public URL), SES notifications through anymail (basic auth).
Valid ones move messages forward only; forged ones get 403; replays change nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest

from notifications.models import DeliveryEvent, Message, MessageStatus
from notifications.services.preferences import preference_matrix, update_preferences
from tests.fakes import sendgrid as sg
from tests.fakes import ses as ses_fake_module
from tests.fakes.twilio import sign_callback, status_params
from tests.notifications.factories import MessageTemplateFactory, drain, notify

pytestmark = pytest.mark.django_db
S = MessageStatus
SENDGRID_URL = "/notifications/webhooks/sendgrid/"
TWILIO_PATH = "/notifications/webhooks/twilio/status/"
SES_URL = "/notifications/webhooks/ses/"


# --- SendGrid -------------------------------------------------------------------------------------


@pytest.fixture
def signer(settings):
    signer = sg.EventSigner()
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = signer.public_key
    return signer


@pytest.fixture
def sent_mail(sendgrid_fake, customer):
    notify(customer, channels=["email"], mode="chosen")
    drain()
    (mail,) = sendgrid_fake.sent
    return Message.objects.get(channel="email"), mail


def post_events(client, events, headers):
    return client.post(
        SENDGRID_URL, data=sg.body_of(events), content_type="application/json", headers=headers
    )


def test_signed_sendgrid_events_move_the_message_forward(client, signer, sent_mail):
    message, mail = sent_mail
    events = [sg.event(mail, "processed"), sg.event(mail, "delivered"), sg.event(mail, "open")]
    body = sg.body_of(events)
    response = client.post(
        SENDGRID_URL, data=body, content_type="application/json", headers=signer.sign(body)
    )

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == S.OPENED
    assert message.delivered_at is not None and message.opened_at is not None
    assert list(message.events.values_list("kind", flat=True)) == ["processed", "delivered", "open"]


def test_forged_sendgrid_webhooks_are_refused(client, signer, sent_mail):
    message, mail = sent_mail
    body = sg.body_of([sg.event(mail, "bounce", reason="550 no such user")])
    other_key = sg.EventSigner()
    tampered = body.replace(b"bounce", b"click")

    assert (
        client.post(
            SENDGRID_URL, data=body, content_type="application/json", headers=other_key.sign(body)
        ).status_code
        == 403
    )
    assert (
        client.post(
            SENDGRID_URL, data=tampered, content_type="application/json", headers=signer.sign(body)
        ).status_code
        == 403
    )
    assert client.post(SENDGRID_URL, data=body, content_type="application/json").status_code == 403
    message.refresh_from_db()
    assert message.status == S.SENT and not message.events.exists()


def test_replayed_sendgrid_webhooks_change_nothing(client, signer, sent_mail):
    message, mail = sent_mail
    body = sg.body_of([sg.event(mail, "delivered")])
    headers = signer.sign(body)
    first = client.post(SENDGRID_URL, data=body, content_type="application/json", headers=headers)
    again = client.post(SENDGRID_URL, data=body, content_type="application/json", headers=headers)

    assert first.content == b"OK (1 new)" and again.content == b"OK (0 new)"
    assert message.events.count() == 1
    # a capture replayed later than the tolerance is refused outright
    stale = signer.sign(body, timestamp=int(time.time()) - 3600)
    assert (
        client.post(SENDGRID_URL, data=body, content_type="application/json", headers=stale).status_code
        == 403
    )


def test_a_late_sendgrid_event_never_moves_a_message_back(client, signer, sent_mail):
    message, mail = sent_mail
    for name in ("click", "delivered", "open"):  # out of order, as webhooks arrive
        body = sg.body_of([sg.event(mail, name, url="https://example.com/")])
        assert (
            client.post(
                SENDGRID_URL, data=body, content_type="application/json", headers=signer.sign(body)
            ).status_code
            == 200
        )
    message.refresh_from_db()
    assert message.status == S.CLICKED
    assert message.delivered_at and message.opened_at and message.clicked_at


def test_spam_report_switches_marketing_email_off(client, signer, sendgrid_fake, customer):
    update_preferences(customer, {("marketing", "email"): True})
    notify(customer, template=MessageTemplateFactory(kind="marketing"), channels=["email"], mode="chosen")
    drain()
    body = sg.body_of([sg.event(sendgrid_fake.sent[0], "spamreport")])
    client.post(SENDGRID_URL, data=body, content_type="application/json", headers=signer.sign(body))
    assert preference_matrix(customer)["marketing"]["email"].enabled is False


def test_malformed_but_signed_body_is_a_400(client, signer):
    body = b'{"not": "a list"}'
    response = client.post(
        SENDGRID_URL, data=body, content_type="application/json", headers=signer.sign(body)
    )
    assert response.status_code == 400 and b"JSON array" in response.content


# --- Twilio ---------------------------------------------------------------------------------------


@pytest.fixture
def sent_sms(twilio_fake, customer):
    update_preferences(customer, {("status", "sms"): True})
    notify(customer, channels=["sms"], mode="chosen")
    drain()
    (sms,) = twilio_fake.sent
    return Message.objects.get(channel="sms"), sms


def post_status(client, sms, status, *, url=None, token=None, **extra):
    params = status_params(sms, status, **extra)
    signed_url = url or "http://testserver" + sms.status_callback.removeprefix("http://testserver")
    signature = sign_callback(signed_url, params, **({"auth_token": token} if token else {}))
    path = sms.status_callback.removeprefix("http://testserver")
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_twilio_status_callbacks_update_the_message(client, sent_sms):
    message, sms = sent_sms
    assert post_status(client, sms, "sent").status_code == 200
    assert post_status(client, sms, "delivered").status_code == 200
    message.refresh_from_db()
    assert message.status == S.DELIVERED and message.delivered_at is not None


def test_a_late_sent_never_overwrites_delivered(client, sent_sms):
    message, sms = sent_sms
    post_status(client, sms, "delivered")
    post_status(client, sms, "sent")
    post_status(client, sms, "sending")
    message.refresh_from_db()
    assert message.status == S.DELIVERED
    assert list(message.events.values_list("kind", flat=True)) == ["delivered", "sent", "sending"]


def test_forged_twilio_callbacks_are_refused(client, sent_sms):
    message, sms = sent_sms
    assert post_status(client, sms, "failed", token="not-our-auth-token").status_code == 403
    # signed for another URL (Twilio signs the exact URL it called)
    other = "http://testserver/notifications/webhooks/twilio/status/?m=00000000-0000-0000-0000-000000000000"
    assert post_status(client, sms, "failed", url=other).status_code == 403
    no_signature = client.post(
        TWILIO_PATH, urlencode(status_params(sms, "failed")), content_type="application/x-www-form-urlencoded"
    )
    assert no_signature.status_code == 403
    message.refresh_from_db()
    assert message.status == S.SENT and not message.events.exists()


def test_replayed_twilio_callback_is_recorded_once(client, sent_sms):
    message, sms = sent_sms
    assert post_status(client, sms, "undelivered", ErrorCode="30003").status_code == 200
    assert post_status(client, sms, "undelivered", ErrorCode="30003").status_code == 200
    message.refresh_from_db()
    assert message.status == S.BOUNCED and "30003" in message.last_error
    assert message.events.count() == 1


def test_twilio_signature_is_checked_against_the_public_url(client, sent_sms, settings):
    """Behind a proxy the app sees http://internal…; Twilio signed https://shop…"""
    message, sms = sent_sms
    public = "https://shop.example.com" + sms.status_callback.removeprefix("http://testserver")
    assert post_status(client, sms, "delivered", url=public).status_code == 403
    settings.NOTIFICATIONS_PUBLIC_URL = "https://shop.example.com"
    assert post_status(client, sms, "delivered", url=public).status_code == 200


# --- Amazon SES (SNS through anymail) ---------------------------------------------------------------


@pytest.fixture
def sent_ses(ses_fake, customer, settings):
    settings.AMAZON_SES_WEBHOOK_SECRET = ses_fake_module.WEBHOOK_SECRET
    notify(customer, channels=["email"], mode="chosen")
    drain()
    (raw,) = ses_fake.sent
    return Message.objects.get(channel="email"), raw


def post_sns(client, event, **options):
    body, headers = ses_fake_module.sns_post(event, **options)
    return client.generic("POST", SES_URL, body, content_type="text/plain; charset=UTF-8", **headers)


def test_ses_delivery_notification_updates_the_message(client, sent_ses, customer):
    message, raw = sent_ses
    response = post_sns(client, ses_fake_module.ses_event("Delivery", raw.message_id, customer.email))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_ses_bounce_and_replay(client, sent_ses, customer):
    message, raw = sent_ses
    event = ses_fake_module.ses_event("Bounce", raw.message_id, customer.email)
    assert post_sns(client, event, sns_message_id="11111111-2222-3333-4444-555555555555").status_code == 200
    assert post_sns(client, event, sns_message_id="11111111-2222-3333-4444-555555555555").status_code == 200
    message.refresh_from_db()
    assert message.status == S.BOUNCED and "550 5.1.1" in message.last_error
    assert DeliveryEvent.objects.filter(message=message).count() == 1


def test_forged_ses_notifications_are_refused(client, sent_ses, customer, settings):
    message, raw = sent_ses
    event = ses_fake_module.ses_event("Delivery", raw.message_id, customer.email)
    assert post_sns(client, event, secret="sns-user:wrong").status_code == 403
    assert post_sns(client, event, secret="").status_code == 401  # SNS gets a challenge first
    settings.AMAZON_SES_WEBHOOK_SECRET = ""
    assert post_sns(client, event).status_code == 403  # never open to anyone
    message.refresh_from_db()
    assert message.status == S.SENT


def test_webhooks_accept_only_post(client):
    for url in (SENDGRID_URL, TWILIO_PATH, SES_URL):
        assert client.get(url).status_code == 405
