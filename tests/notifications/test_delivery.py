"""The outbox worker: exclusive claims, urgent first, recovery by the sweeper (released claims,
in-doubt sends become dead letters, lost tasks republished), re-queueing dead letters, and the
same claim/send code whether Celery runs eagerly or on a broker."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import Message, MessageStatus
from notifications.services import delivery
from notifications.services.preferences import update_preferences
from tests.notifications.factories import drain, notify

S = MessageStatus


def expire_leases():
    Message.objects.filter(status=S.SENDING).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_claimed_row_is_not_claimed_again(customer):
    notify(customer, channels=["email"], mode="chosen")
    token, first = delivery._claim(ids=None, priority=None, limit=10)
    _, second = delivery._claim(ids=None, priority=None, limit=10)
    assert len(first) == 1 and second == []
    assert first[0].status == S.SENDING and first[0].claim_token == token


@pytest.mark.django_db
def test_urgent_messages_overtake_queued_bulk(customer, smtp_server):
    for _ in range(5):
        notify(customer, channels=["email"], mode="chosen")
    urgent = notify(customer, channels=["email"], mode="chosen", priority="urgent")
    delivery.deliver_batch(limit=1)

    (sent,) = Message.objects.filter(status=S.SENT)
    assert sent.dispatch_id == urgent.pk
    assert delivery.queue_for("urgent") == "notifications.urgent"
    assert delivery.queue_for("normal") == "notifications.bulk"


@pytest.mark.django_db
def test_new_messages_are_published_after_commit(
    customer, smtp_server, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(customer, channels=["email"], mode="chosen")
    message = Message.objects.get()
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # embedded default: the task ran right here, through the same claim and send code
        assert message.status == S.SENT and len(smtp_server.messages) == 1
    else:
        # a broker: the task waits in Redis for a worker; the row records that it was published
        import redis

        assert message.status == S.QUEUED and message.enqueued_at is not None
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        assert broker.llen("notifications.bulk") >= 1
        drain()
        message.refresh_from_db()
        assert message.status == S.SENT


@pytest.mark.django_db
def test_sweeper_releases_claims_of_a_worker_that_died_before_sending(customer, smtp_server):
    notify(customer, channels=["email"], mode="chosen")
    delivery._claim(ids=None, priority=None, limit=10)  # a worker claims, then dies
    assert delivery.sweep().released == 0  # its lease still runs
    expire_leases()

    result = delivery.sweep()  # released, and published again (sent at once when eager)
    assert result.released == 1 and result.published == 1
    drain()
    message = Message.objects.get()
    assert message.status == S.SENT and message.claim_token is None
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_a_send_in_flight_when_the_worker_died_becomes_a_dead_letter_not_a_duplicate(customer, smtp_server):
    notify(customer, channels=["email"], mode="chosen")
    token, (claimed,) = delivery._claim(ids=None, priority=None, limit=10)
    assert delivery._mark_in_flight(claimed, token, "smtp")  # ...and the process is killed here
    expire_leases()

    result = delivery.sweep()
    message = Message.objects.get()
    assert result.in_doubt == 1
    assert message.status == S.DEAD and message.outcome_unknown
    assert "may or may not have been sent" in message.last_error
    drain()
    assert smtp_server.messages == []  # never sent again by itself

    # staff decide: re-queue it, and it goes out (once)
    assert delivery.requeue([message.pk]) == 1
    drain()
    message.refresh_from_db()
    assert message.status == S.SENT and not message.outcome_unknown
    assert len(smtp_server.messages) == 1
    assert list(message.events.values_list("kind", flat=True)) == ["in_doubt", "requeued"]


@pytest.mark.django_db
def test_a_slow_send_that_finishes_after_the_sweeper_gave_up_is_recorded_as_sent(customer):
    notify(customer, channels=["email"], mode="chosen")
    token, (claimed,) = delivery._claim(ids=None, priority=None, limit=10)
    delivery._mark_in_flight(claimed, token, "console")
    expire_leases()
    delivery.sweep()
    delivery._record_sent(claimed, token, "console", "late-id")

    message = Message.objects.get()
    assert (
        message.status == S.SENT and message.provider_message_id == "late-id" and not message.outcome_unknown
    )


@pytest.mark.django_db
def test_a_worker_that_lost_its_claim_does_not_send(customer, smtp_server):
    notify(customer, channels=["email"], mode="chosen")
    slow_token, (slow_copy,) = delivery._claim(ids=None, priority=None, limit=10)
    expire_leases()
    delivery.sweep()  # the slow worker's lease ran out; the row is back in the queue
    drain()  # another worker sends it
    assert delivery._send_one(slow_copy, slow_token) == "lost"  # the slow worker wakes up
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_sweeper_republishes_due_rows_whose_task_was_lost(customer, settings):
    notify(customer, channels=["email"], mode="chosen")
    notify(customer, channels=["email"], mode="chosen")
    Message.objects.update(enqueued_at=timezone.now())  # published just now: leave them
    assert delivery.sweep().published == 0
    Message.objects.update(enqueued_at=timezone.now() - timedelta(minutes=5))  # long ago: lost
    assert delivery.sweep().published == 2


@pytest.mark.django_db
def test_dead_letters_can_be_requeued(customer, twilio_fake, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    update_preferences(customer, {("status", "sms"): True})
    twilio_fake.set_mode("500")
    notify(customer, channels=["sms"], mode="chosen")
    drain()
    message = Message.objects.get()
    assert message.status == S.DEAD and message.attempts == 2

    twilio_fake.set_mode("ok")
    assert delivery.requeue([message.pk]) == 1
    message.refresh_from_db()
    assert message.status == S.QUEUED and message.attempts == 0
    drain()
    message.refresh_from_db()
    assert message.status == S.SENT and message.attempts == 1
    assert delivery.requeue([message.pk]) == 0  # only dead, failed or bounced ones


@pytest.mark.django_db
def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 100
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = [delivery.backoff_seconds(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 3) for d in delays}) > 1  # jitter


@pytest.mark.django_db(transaction=True)
def test_postgresql_claims_skip_locked_rows(customer):
    """Two workers claiming at the same moment get disjoint batches (SELECT … FOR UPDATE SKIP LOCKED)."""
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is the PostgreSQL path; SQLite serialises writers")
    for _ in range(6):
        notify(customer, channels=["email"], mode="chosen")
    from django.db import transaction

    holding = threading.Event()
    release = threading.Event()
    seen: dict[str, list[int]] = {}

    def first_worker():
        with transaction.atomic():
            locked = list(
                Message.objects.select_for_update(skip_locked=True)
                .order_by("id")
                .values_list("pk", flat=True)[:3]
            )
            seen["locked"] = locked
            holding.set()
            release.wait(5)
        connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    assert holding.wait(5)
    _, claimed = delivery._claim(ids=None, priority=None, limit=10)  # while the first holds its rows
    release.set()
    thread.join()
    assert len(claimed) == 3
    assert not set(seen["locked"]) & {m.pk for m in claimed}
