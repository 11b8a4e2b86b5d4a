"""Quiet hours in the customer's own time zone: non-urgent SMS and push wait for the window to
end (the wait lives in the row's not_before, never in a Celery countdown); urgent ones don't."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications.models import Message, MessageStatus
from notifications.services import delivery
from notifications.services.preferences import (
    QuietWindow,
    quiet_hours_end,
    set_quiet_hours,
    update_preferences,
)
from tests.notifications.factories import drain, notify

S = MessageStatus


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # London in winter (UTC+0): 22:30 is quiet until 08:00 next morning
        ("Europe/London", utc(2026, 1, 10, 22, 30), utc(2026, 1, 11, 8, 0)),
        # London in summer (UTC+1): 06:00 local (05:00 UTC) is quiet until 08:00 local (07:00 UTC)
        ("Europe/London", utc(2026, 7, 10, 5, 0), utc(2026, 7, 10, 7, 0)),
        # Tokyo: 22:30 local is 13:30 UTC; quiet until 08:00 JST, i.e. 23:00 UTC the same day
        ("Asia/Tokyo", utc(2026, 6, 1, 13, 30), utc(2026, 6, 1, 23, 0)),
        # New York, the night clocks go forward (8 March 2026): midnight EST, ends 08:00 EDT = 12:00 UTC
        ("America/New_York", utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 12, 0)),
        # the same UTC instant is midday in Tokyo: not quiet
        ("Asia/Tokyo", utc(2026, 6, 1, 3, 0), None),
        # the first minute after the window is not quiet
        ("Europe/London", utc(2026, 1, 11, 8, 0), None),
    ],
)
def test_quiet_hours_end_in_the_customers_zone(zone, now, expected):
    window = QuietWindow(True, time(21, 0), time(8, 0), zone)
    assert quiet_hours_end(window, now) == expected


def test_a_daytime_window_and_a_disabled_one():
    nap = QuietWindow(True, time(13, 0), time(15, 0), "Europe/Paris")
    assert quiet_hours_end(nap, utc(2026, 5, 4, 11, 30)) == utc(2026, 5, 4, 13, 0)  # 13:30 CEST
    assert quiet_hours_end(nap, utc(2026, 5, 4, 13, 30)) is None  # 15:30 CEST
    off = QuietWindow(False, time(21, 0), time(8, 0), "Europe/Paris")
    assert quiet_hours_end(off, utc(2026, 5, 4, 23, 0)) is None


@pytest.fixture
def quiet_now(customer, settings, twilio_fake):
    """The customer (in Tokyo) is in quiet hours right now, whatever time the tests run."""
    settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS = ["sms", "push"]
    customer.time_zone = "Asia/Tokyo"
    customer.save()
    update_preferences(customer, {("status", "sms"): True, ("service", "sms"): True})
    local = timezone.now().astimezone(ZoneInfo("Asia/Tokyo"))
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    set_quiet_hours(customer, enabled=True, start=start, end=end)
    return customer


@pytest.mark.django_db
def test_non_urgent_sms_waits_until_quiet_hours_end(quiet_now, twilio_fake):
    dispatch = notify(quiet_now, channels=["sms", "email"], mode="chosen")
    drain()

    sms = dispatch.messages.get(channel="sms")
    email = dispatch.messages.get(channel="email")
    assert email.status == S.SENT  # email is not held
    assert sms.status == S.QUEUED and twilio_fake.sent == []
    wait = sms.not_before - timezone.now()
    assert timedelta(hours=1, minutes=55) < wait <= timedelta(hours=2)
    # the sweeper leaves it alone until then
    assert delivery.sweep().published == 0

    # the night passes: the window is over and the row is due
    set_quiet_hours(quiet_now, enabled=False, start=time(21, 0), end=time(8, 0))
    Message.objects.filter(pk=sms.pk).update(not_before=timezone.now())
    drain()
    sms.refresh_from_db()
    assert sms.status == S.SENT and len(twilio_fake.sent) == 1


@pytest.mark.django_db
def test_urgent_sms_goes_out_during_quiet_hours(quiet_now, twilio_fake):
    notify(quiet_now, channels=["sms"], mode="chosen", priority="urgent")
    drain()
    assert Message.objects.get(channel="sms").status == S.SENT


@pytest.mark.django_db
def test_a_message_that_reaches_quiet_hours_in_the_queue_is_held_at_send_time(quiet_now, twilio_fake):
    """Written before the window (or retried into it): the worker checks again before sending."""
    dispatch = notify(quiet_now, channels=["sms"], mode="chosen")
    Message.objects.filter(dispatch=dispatch).update(not_before=timezone.now())
    delivery.deliver_batch()

    sms = dispatch.messages.get()
    assert sms.status == S.QUEUED and sms.not_before > timezone.now() + timedelta(hours=1)
    assert [e.kind for e in sms.events.all()] == ["deferred"]
    assert sms.events.get().detail["reason"] == "quiet hours"


# --- after quiet hours: the current state once, not a queue of stale updates --------------------------

NIGHT = utc(2026, 1, 10, 22, 0)  # 22:00 in London (winter, UTC+0): quiet until 08:00
MORNING = utc(2026, 1, 11, 8, 1)
STATUSES = [
    "received",
    "diagnosing",
    "awaiting_approval",
    "approved",
    "in_repair",
    "quality_check",
    "ready_for_pickup",
]


@pytest.fixture
def sms_status_rule(customer, settings, twilio_fake):
    """Only a status-update rule by SMS (the seeded rules off), quiet hours 21:00–08:00 in London."""
    from notifications.models import AutomationRule
    from tests.notifications.factories import AutomationRuleFactory, MessageTemplateFactory

    settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS = ["sms", "push"]
    AutomationRule.objects.update(enabled=False)
    AutomationRuleFactory(
        event="ticket.status_changed",
        template=MessageTemplateFactory(kind="status"),
        mode="chosen",
        channels=["sms"],
    )
    customer.time_zone = "Europe/London"
    customer.save()
    update_preferences(customer, {("status", "sms"): True})
    set_quiet_hours(customer, enabled=True, start=time(21, 0), end=time(8, 0))


@pytest.mark.django_db
def test_status_updates_held_by_quiet_hours_are_sent_once_with_the_latest_status(
    ticket, sms_status_rule, twilio_fake, django_capture_on_commit_callbacks
):
    import time_machine

    from repairs.lifecycle import Status
    from tests.factories import advance

    with time_machine.travel(NIGHT, tick=True):
        for status in STATUSES:  # seven changes in the evening, a few minutes apart
            with django_capture_on_commit_callbacks(execute=True):
                ticket = advance(ticket, status)
        drain()
        held = list(Message.objects.filter(channel="sms").order_by("pk"))
        assert len(held) == 7 and {m.status for m in held} == {S.QUEUED}
        assert twilio_fake.sent == []

    with time_machine.travel(MORNING, tick=True):
        delivery.sweep()  # beat's sweeper publishes the rows that are due now
        drain()

    sms = list(Message.objects.filter(channel="sms").order_by("pk"))
    latest = sms[-1]
    assert latest.status == S.SENT
    assert len(twilio_fake.sent) == 1
    assert Status(STATUSES[-1]).label in twilio_fake.sent[0].body
    for older in sms[:-1]:
        assert older.status == S.SUPERSEDED  # not failed, not a dead letter: kept for audit
        assert older.attempts == 0 and older.sent_at is None
        assert [e.kind for e in older.events.all()] == ["superseded"]
        assert older.events.get().detail == {"by": latest.pk}
    assert not Message.objects.filter(status__in=[S.FAILED, S.DEAD]).exists()


@pytest.mark.django_db
def test_updates_about_other_tickets_or_of_other_kinds_are_not_superseded(quiet_now, twilio_fake, ticket):
    """Two tickets of one customer each get their latest update; a service message always goes."""
    other = make_other_ticket(quiet_now)
    first = notify(quiet_now, ticket=ticket, channels=["sms"], mode="chosen")
    second = notify(quiet_now, ticket=other, channels=["sms"], mode="chosen")
    from tests.notifications.factories import MessageTemplateFactory

    service = notify(
        quiet_now,
        ticket=ticket,
        template=MessageTemplateFactory(kind="service"),
        channels=["sms"],
        mode="chosen",
    )
    latest = notify(quiet_now, ticket=ticket, channels=["sms"], mode="chosen")
    Message.objects.update(not_before=timezone.now())
    set_quiet_hours(quiet_now, enabled=False, start=time(21, 0), end=time(8, 0))
    drain()
    status = {d: d.messages.get().status for d in (first, second, service, latest)}
    assert status == {first: S.SUPERSEDED, second: S.SENT, service: S.SENT, latest: S.SENT}
    assert len(twilio_fake.sent) == 3


def make_other_ticket(customer):
    from tests.factories import make_ticket

    return make_ticket(customer=customer)
