"""The notifications app's share of GDPR export and erasure (revivatech/privacy.py)."""

from __future__ import annotations

import json

import pytest

from notifications.models import Message, NotificationPreference, PushDevice
from notifications.services.preferences import set_quiet_hours, update_preferences
from revivatech import privacy
from tests.notifications.factories import PushDeviceFactory, drain, notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(customer, ticket):
    from datetime import time

    update_preferences(customer, {("marketing", "email"): True})
    set_quiet_hours(customer, enabled=True, start=time(22, 0), end=time(7, 0))
    PushDeviceFactory(customer=customer, label="Phone")
    notify(customer, ticket=ticket, channels=["email"], mode="chosen")
    drain()
    return customer


def test_registered_to_run_before_repairs_anonymises_the_customer():
    sections = [p.section for p in privacy.providers()]
    assert sections.index("notifications") < sections.index("repairs")


def test_export_holds_messages_preferences_and_devices(history):
    provider = next(p for p in privacy.providers() if p.section == "notifications")
    data = provider.export(history)
    json.dumps(data, default=str)
    assert data["preferences"][0]["kind"] == "marketing"
    assert data["quiet_hours"] == {"enabled": True, "start": "22:00:00", "end": "07:00:00"}
    assert data["push_devices"][0]["label"] == "Phone"
    (message,) = data["messages"]
    assert message["recipient"] == history.email and message["status"] == "sent"


def test_erase_leaves_no_personal_data(history):
    provider = next(p for p in privacy.providers() if p.section == "notifications")
    summary = provider.erase(history)
    assert summary == {"notification_preferences": 1, "push_devices": 1, "messages": 1}
    assert not NotificationPreference.objects.exists() and not PushDevice.objects.exists()
    message = Message.objects.get()
    assert message.status == "sent"  # the shop keeps that a message went out...
    dump = json.dumps(list(Message.objects.values()), default=str)
    assert history.email not in dump and history.name.split()[0] not in dump  # ...not to whom or what
