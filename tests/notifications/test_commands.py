"""Management commands: the sweeper (beat's job, for setups without beat) and campaigns."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.models import Message, MessageStatus
from notifications.services.preferences import update_preferences
from tests.notifications.factories import notify

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_sweep_with_drain_sends_what_is_due(customer, smtp_server):
    notify(customer, channels=["email"], mode="chosen")
    Message.objects.update(enqueued_at=timezone.now() - timedelta(hours=1))
    output = run("notifications_sweep", "--drain")
    assert "published 1" in output
    assert Message.objects.get().status == MessageStatus.SENT and len(smtp_server.messages) == 1


def test_campaign_reaches_opted_in_customers_once(customer, other_customer, smtp_server):
    update_preferences(customer, {("marketing", "email"): True})
    assert "1 customer(s) would get" in run(
        "notifications_campaign", "seasonal_offer", "--campaign", "nov", "--dry-run"
    )
    assert "for 1 customer(s)" in run("notifications_campaign", "seasonal_offer", "--campaign", "nov")
    run("notifications_campaign", "seasonal_offer", "--campaign", "nov")  # again: nothing new
    (message,) = Message.objects.all()
    assert message.customer_id == customer.pk and message.kind == "marketing"
    with pytest.raises(CommandError, match="No template 'nope'"):
        call_command("notifications_campaign", "nope", "--campaign", "x")
