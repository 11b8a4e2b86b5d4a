"""Crash safety with real Celery workers on the Redis broker: a worker SIGKILLed in the middle of
a batch loses nothing, and nothing is sent twice. The fake Twilio counts what it receives.

Needs Redis and PostgreSQL (a worker process must see the test database): skipped locally
without REDIS_URL, always run in CI (CI=true sets REDIS_URL and DATABASE_URL).
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection

from notifications.models import Message, MessageStatus
from notifications.services import delivery
from notifications.services.preferences import update_preferences
from tests.conftest import in_ci
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio
from tests.notifications.factories import MessageTemplateFactory, notify
from tests.notifications.worker_process import CeleryWorker, database_url, purge_queues, wait_for

S = MessageStatus
MESSAGES = 40
LEASE_SECONDS = 1


@pytest.fixture
def real_worker_setup(settings):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis (REDIS_URL) for a real Celery broker; CI sets it")
    if connection.vendor != "postgresql":
        if in_ci():
            pytest.fail("CI must run this on PostgreSQL (DATABASE_URL)")
        pytest.skip("a worker process cannot see SQLite's in-memory test database; set DATABASE_URL")
    purge_queues(settings.CELERY_BROKER_URL)
    yield
    purge_queues(settings.CELERY_BROKER_URL)
    with connection.cursor() as cursor:  # connections the killed workers left behind
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def worker_env(settings, fake: FakeTwilio) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": os.environ["REDIS_URL"],
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": fake.url,
        "NOTIFICATIONS_SMS_PROVIDERS": "twilio",
        "NOTIFICATIONS_EMAIL_PROVIDERS": "console",
        "NOTIFICATIONS_PUSH_PROVIDERS": "",
        "NOTIFICATIONS_RATE_LIMITS": "",
        "NOTIFICATIONS_QUIET_HOURS_CHANNELS": "",
        "NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
        "NOTIFICATIONS_BATCH_SIZE": "5",
        "NOTIFICATIONS_PUBLIC_URL": settings.NOTIFICATIONS_PUBLIC_URL,
        "NOTIFICATIONS_REDIS_PREFIX": settings.NOTIFICATIONS_REDIS_PREFIX,
    }


def unfinished() -> int:
    return Message.objects.filter(status__in=[S.QUEUED, S.SENDING]).count()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    real_worker_setup, customer, settings
):
    settings.NOTIFICATIONS_REENQUEUE_AFTER_SECONDS = 0
    update_preferences(customer, {("status", "sms"): True})
    template = MessageTemplateFactory()
    with FakeTwilio(delay=0.03) as fake:
        env = worker_env(settings, fake)
        # this process writes the rows: it must see Twilio configured as the workers do
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
        settings.TWILIO_FROM_NUMBER, settings.TWILIO_API_BASE_URL = FROM_NUMBER, fake.url
        settings.NOTIFICATIONS_PROVIDERS = {**settings.NOTIFICATIONS_PROVIDERS, "sms": ["twilio"]}
        for _ in range(MESSAGES):  # committed one by one; each publishes its task after commit
            notify(customer, template=template, channels=["sms"], mode="chosen")
        assert Message.objects.filter(status=S.QUEUED).count() == MESSAGES

        first = CeleryWorker(env, name="doomed").start()
        try:
            wait_for(lambda: len(fake.sent) >= 10, timeout=60, what="10 SMS through the first worker")
        finally:
            first.kill()  # SIGKILL: the worker and its pool, mid-batch
        received_before_restart = len(fake.sent)
        assert received_before_restart < MESSAGES, first.output()

        # Beat's sweeper, once the dead worker's leases have run out: rows it had claimed go back
        # to the queue, a row it was handing to Twilio becomes a dead letter (outcome unknown).
        time.sleep(LEASE_SECONDS + 0.5)
        swept = delivery.sweep()
        assert not Message.objects.filter(status=S.SENDING).exists()
        assert swept.in_doubt <= 2
        with CeleryWorker(env, name="survivor") as second:
            wait_for(
                lambda: unfinished() == 0,
                timeout=60,
                interval=0.2,
                what=f"every message finished\n{second.output()}",
            )

    receipts = fake.receipts()
    messages = list(Message.objects.all())
    sent = [m for m in messages if m.status == S.SENT]
    dead = [m for m in messages if m.status == S.DEAD]
    before = received_before_restart
    print(f"sent {len(sent)}, in doubt {len(dead)}, Twilio got {len(fake.sent)} ({before} before the kill)")
    assert len(sent) + len(dead) == MESSAGES
    assert max(receipts.values()) == 1, "a message reached Twilio twice"
    for message in sent:
        assert receipts[str(message.token)] == 1
        assert message.provider_message_id.startswith("SM")
    for message in dead:  # only what was in flight at the kill, never re-sent by itself
        assert message.outcome_unknown and receipts[str(message.token)] <= 1
    assert len(dead) <= 2  # the pool had two processes
    assert len(sent) >= MESSAGES - 2 and len(fake.sent) > received_before_restart
