"""A new alert reaches the staff who opted in (an outbox row, then a real email over SMTP) and the
live dashboard (the channel-layer group its sockets join); nobody else, and only once per episode."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from analytics.models import EventType
from analytics.monitoring.models import AlertSubscription
from analytics.monitoring.services import notify
from analytics.monitoring.services.detection import detect_anomalies
from notifications import providers
from notifications.models import Message, MessageStatus
from notifications.services.delivery import drain
from tests.factories import CustomerWithLoginFactory, StaffFactory
from tests.fakes.smtp import FakeSMTPServer

from .conftest import HOUR, LAST_WEEK, scale_events

pytestmark = pytest.mark.django_db
SPIKE = LAST_WEEK + timedelta(days=2, hours=10)  # Wednesday 10:00
FIVE = timedelta(minutes=5)


@pytest.fixture
def smtp_server(settings):
    with FakeSMTPServer() as server:
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.NOTIFICATIONS_PROVIDERS = {"email": ["smtp"], "sms": [], "push": []}
        settings.NOTIFICATIONS_RATE_LIMITS_SPEC = ""
        settings.NOTIFICATIONS_REDIS_PREFIX = f"test-monitoring:{uuid.uuid4().hex}"
        providers.reset()
        yield server
        providers.reset()


@pytest.fixture
def people(db):
    opted_in, not_opted_in = StaffFactory(email="ops@example.com"), StaffFactory(email="quiet@example.com")
    notify.set_subscription(opted_in, "email", True)
    customer_user = CustomerWithLoginFactory().user
    AlertSubscription.objects.create(user=customer_user)  # not staff: never notified
    return opted_in, not_opted_in, customer_user


def test_opted_in_staff_get_an_outbox_row_and_an_email_others_do_not(
    history, people, smtp_server, django_capture_on_commit_callbacks
):
    opted_in, not_opted_in, customer_user = people
    scale_events(SPIKE, EventType.PAGEVIEW, 3)
    scale_events(SPIKE + HOUR, EventType.PAGEVIEW, 3)

    with django_capture_on_commit_callbacks(execute=True):
        result = detect_anomalies(now=SPIKE + HOUR + FIVE)
    (alert,) = result.opened

    (message,) = Message.objects.all()
    assert message.recipient == "ops@example.com"
    assert message.channel == "email" and message.kind == "service" and message.priority == "urgent"
    assert message.dispatch.key == f"analytics-alert:{alert.pk}:{opted_in.pk}"
    assert message.subject == f"Alert: {alert.message}"
    assert not Message.objects.filter(recipient__in=[not_opted_in.email, customer_user.email]).exists()

    drain()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider == "smtp"
    (received,) = smtp_server.messages
    assert received.recipients == ["ops@example.com"]
    text = received.part("text/plain")
    assert alert.message in text and "http://" in text and "/dashboard/" in text

    # The episode goes on: no second message.
    with django_capture_on_commit_callbacks(execute=True):
        result = detect_anomalies(now=SPIKE + 2 * HOUR + FIVE)
    assert not result.opened and result.updated
    assert Message.objects.count() == 1


def test_opting_out_stops_notifications(history, people, settings):
    settings.NOTIFICATIONS_PROVIDERS = {"email": ["console"], "sms": [], "push": []}
    opted_in, _, _ = people
    assert notify.set_subscription(opted_in, "email", False) == []
    scale_events(SPIKE, EventType.PAGEVIEW, 3)
    assert detect_anomalies(now=SPIKE + HOUR + FIVE).opened
    assert not Message.objects.exists()


def test_a_member_who_left_the_staff_group_is_not_notified(history, people, settings):
    settings.NOTIFICATIONS_PROVIDERS = {"email": ["console"], "sms": [], "push": []}
    opted_in, _, _ = people
    opted_in.groups.clear()
    scale_events(SPIKE, EventType.PAGEVIEW, 3)
    assert detect_anomalies(now=SPIKE + HOUR + FIVE).opened
    assert not Message.objects.exists()


def test_no_email_provider_leaves_a_skipped_row_with_the_reason(history, people, settings):
    settings.NOTIFICATIONS_PROVIDERS = {"email": [], "sms": [], "push": []}
    scale_events(SPIKE, EventType.PAGEVIEW, 3)
    detect_anomalies(now=SPIKE + HOUR + FIVE)
    (message,) = Message.objects.all()
    assert message.status == MessageStatus.SKIPPED and "no email provider" in message.last_error


def test_new_alerts_are_pushed_to_the_dashboard_group(history, django_capture_on_commit_callbacks):
    """A socket's channel in the dashboard group receives the alert (in-memory layer embedded,
    Redis with REDIS_URL). One event loop for the whole exchange, as a consumer has."""
    from analytics.dashboard.realtime import DASHBOARD_GROUP

    scale_events(SPIKE, EventType.PAGEVIEW, 3)

    def run_detector():
        with django_capture_on_commit_callbacks(execute=True):
            return detect_anomalies(now=SPIKE + HOUR + FIVE).opened

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(DASHBOARD_GROUP, channel)
        try:
            opened = await sync_to_async(run_detector)()
            pushed = await asyncio.wait_for(layer.receive(channel), timeout=5)
        finally:
            await layer.group_discard(DASHBOARD_GROUP, channel)
        return opened, pushed

    (alert,), pushed = async_to_sync(scenario)()
    assert pushed["type"] == "dashboard.alert"
    assert pushed["alert"]["id"] == alert.pk
    assert pushed["alert"]["metric"] == "traffic" and pushed["alert"]["status"] == "open"
    assert pushed["alert"]["message"] == alert.message
    assert pushed["alert"]["started_at"] == SPIKE.isoformat()
