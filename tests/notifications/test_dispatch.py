"""Orchestration: preferences decide the channels, every skipped channel says why, a request is
written once per idempotency key, and fallback order moves on only when a channel fails."""

from __future__ import annotations

import pytest

from notifications.models import Dispatch, Message, MessageStatus
from notifications.services.dispatch import e164
from notifications.services.preferences import update_preferences
from tests.notifications.factories import MessageTemplateFactory, PushDeviceFactory, drain, notify

pytestmark = pytest.mark.django_db
S = MessageStatus


def statuses(dispatch: Dispatch) -> dict[str, str]:
    return {m.channel: m.status for m in dispatch.messages.all()}


def reasons(dispatch: Dispatch) -> dict[str, str]:
    return {m.channel: m.last_error for m in dispatch.messages.filter(status=S.SKIPPED)}


def test_all_channels_follow_preferences_and_record_why_others_are_skipped(customer):
    # Embedded default: console email only; SMS and push have no provider.
    update_preferences(customer, {("status", "sms"): True})
    dispatch = notify(customer)

    assert statuses(dispatch) == {"email": S.QUEUED, "sms": S.SKIPPED, "push": S.SKIPPED}
    assert reasons(dispatch) == {
        "sms": "no sms provider is configured",
        "push": "no push provider is configured",
    }
    drain()
    assert statuses(dispatch)["email"] == S.SENT


def test_switched_off_channel_is_skipped_with_the_reason(customer, twilio_fake):
    update_preferences(customer, {("status", "email"): False})
    dispatch = notify(customer, channels=["email", "sms"], mode="chosen")

    assert statuses(dispatch) == {"email": S.SKIPPED, "sms": S.SKIPPED}
    assert reasons(dispatch)["email"] == "the customer turned off repair status updates by Email"
    # SMS is off by default for customers who prefer email
    assert reasons(dispatch)["sms"] == "the customer turned off repair status updates by Text message (SMS)"


def test_missing_phone_and_devices_are_explained(customer, twilio_fake, fcm_fake):
    customer.phone = ""
    customer.save()
    update_preferences(customer, {("status", "sms"): True})
    dispatch = notify(customer, channels=["sms", "push"], mode="chosen")

    assert reasons(dispatch) == {
        "sms": "the customer has no mobile number we can text",
        "push": "the customer has no device registered for push notifications",
    }


def test_required_service_messages_ignore_an_email_opt_out(customer):
    template = MessageTemplateFactory(kind="service")
    with pytest.raises(Exception, match="cannot be switched off"):
        update_preferences(customer, {("service", "email"): False})
    dispatch = notify(customer, template=template, channels=["email"], mode="chosen")
    assert statuses(dispatch) == {"email": S.QUEUED}


def test_marketing_is_off_until_the_customer_opts_in(customer):
    template = MessageTemplateFactory(kind="marketing")
    assert statuses(notify(customer, template=template, channels=["email"], mode="chosen")) == {
        "email": S.SKIPPED
    }
    update_preferences(customer, {("marketing", "email"): True})
    assert statuses(notify(customer, template=template, channels=["email"], mode="chosen")) == {
        "email": S.QUEUED
    }


def test_the_same_key_never_writes_twice(customer, smtp_server):
    first = notify(customer, key="ticket:1:seq:4", channels=["email"], mode="chosen")
    again = notify(customer, key="ticket:1:seq:4", channels=["email"], mode="chosen")
    drain()
    drain()

    assert first.pk == again.pk
    assert Message.objects.count() == 1
    assert len(smtp_server.messages) == 1


def test_fallback_sends_sms_only_when_push_fails(customer, fcm_fake, twilio_fake):
    update_preferences(customer, {("status", "sms"): True})
    device = PushDeviceFactory(customer=customer)
    fcm_fake.unregister(device.token)
    dispatch = notify(customer, channels=["push", "sms", "email"], mode="fallback")
    assert statuses(dispatch) == {"push": S.QUEUED}  # one channel at a time

    drain()  # push fails (unregistered) → SMS is written and sent; email never needed
    assert statuses(dispatch) == {"push": S.FAILED, "sms": S.SENT}
    assert [m.fallback_step for m in dispatch.messages.order_by("pk")] == [0, 1]
    assert len(twilio_fake.sent) == 1


def test_fallback_stops_at_the_first_channel_that_gets_through(customer, fcm_fake, twilio_fake):
    update_preferences(customer, {("status", "sms"): True})
    PushDeviceFactory(customer=customer)
    dispatch = notify(customer, channels=["push", "sms"], mode="fallback")
    drain()
    assert statuses(dispatch) == {"push": S.SENT}
    assert twilio_fake.sent == []


def test_fallback_skips_unusable_channels_straight_away(customer, twilio_fake):
    update_preferences(customer, {("status", "sms"): True})
    dispatch = notify(customer, channels=["push", "sms"], mode="fallback")  # no push device
    assert statuses(dispatch) == {"push": S.SKIPPED, "sms": S.QUEUED}


def test_fallback_waits_for_every_device_of_a_step(customer, fcm_fake, twilio_fake, settings):
    update_preferences(customer, {("status", "sms"): True})
    gone = PushDeviceFactory(customer=customer)
    PushDeviceFactory(customer=customer)
    fcm_fake.unregister(gone.token)
    dispatch = notify(customer, channels=["push", "sms"], mode="fallback")
    drain()
    # one device got it: no SMS
    assert sorted(statuses_list := [m.status for m in dispatch.messages.all()]) == [S.FAILED, S.SENT], (
        statuses_list
    )
    assert twilio_fake.sent == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("07700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("(020) 7946-0958", "+442079460958"),
        ("12", None),
        ("", None),
    ],
)
def test_phone_numbers_become_e164(raw, expected):
    assert e164(raw) == expected
