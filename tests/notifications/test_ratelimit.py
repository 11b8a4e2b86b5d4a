"""Rate limits: sliding windows per channel and provider, held together by every worker (Redis),
and a limited message is deferred, never failed."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.services.ratelimit import Limit, acquire_in_redis, parse_limits

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL); CI sets it")


def test_limits_are_parsed_from_the_setting():
    limits = parse_limits("sms:twilio=10/s,600/m,5000/d; email:*=50/s")
    assert limits == {
        "sms:twilio": (Limit(10, 1.0), Limit(600, 60.0), Limit(5000, 86400.0)),
        "email:*": (Limit(50, 1.0),),
    }
    for bad in ("sms=10/s", "sms:twilio=ten/s", "sms:twilio=10/week", "sms:twilio=10"):
        with pytest.raises(ImproperlyConfigured):
            parse_limits(bad)


def _grant_times(url: str, prefix: str, limit: int, seconds: float, ready, go, results) -> None:
    """One 'worker' process: once both are up, take sends as fast as the shared limit allows."""
    buckets = [("sms:twilio:1", Limit(limit, 1.0))]
    ready.put(os.getpid())
    go.wait(30)
    granted = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        wait = acquire_in_redis(url, prefix, buckets)
        if wait == 0:
            granted.append(time.time())
        else:
            time.sleep(min(wait, max(0.0, deadline - time.time())))
    results.put(granted)


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@needs_redis
def test_two_worker_processes_share_one_limit_in_redis():
    limit, seconds = 40, 2.5
    prefix = f"test-notifications:{uuid.uuid4().hex}"
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    workers = [
        context.Process(target=_grant_times, args=(REDIS_URL, prefix, limit, seconds, ready, go, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=60)  # both processes are up before the clock starts
    go.set()
    runs = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(10)
    everything = runs[0] + runs[1]
    # both workers got sends, and together they never beat the limit in any one-second window
    assert runs[0] and runs[1]
    assert _max_in_window(everything, 0.99) <= limit
    # ... while using it: paced at 40/s (plus the small burst allowance) for 2.5 s
    # (the lower bound only shows both workers were really sending; a loaded CI box may lag)
    assert limit * seconds * 0.6 <= len(everything) <= limit * seconds + 3
    # paced, not bursty: no tenth of a second carries much more than a tenth of the limit
    assert _max_in_window(everything, 0.1) <= limit / 10 + 3


@needs_redis
def test_every_window_must_have_room():
    prefix = f"test-notifications:{uuid.uuid4().hex}"
    buckets = [("email:ses:1", Limit(100, 1.0)), ("email:ses:86400", Limit(3, 86400.0))]
    assert [acquire_in_redis(REDIS_URL, prefix, buckets) for _ in range(3)] == [0, 0, 0]
    wait = acquire_in_redis(REDIS_URL, prefix, buckets)
    assert 86_000 < wait <= 86_400.001  # the daily window is full: a day, not a second


@needs_redis
def test_per_second_limits_are_paced_with_a_small_burst(settings):
    settings.NOTIFICATIONS_RATE_BURST = 0.05
    prefix = f"test-notifications:{uuid.uuid4().hex}"
    buckets = [("push:fcm:1", Limit(100, 1.0))]
    waits = [acquire_in_redis(REDIS_URL, prefix, buckets) for _ in range(7)]
    assert waits[:6] == [0] * 6  # a burst of 5 % (5 sends) ahead of the pace, plus the first
    assert 0 < waits[6] <= 0.011  # then one every 10 ms: a worker waits milliseconds, not a second


def test_in_process_windows_without_redis(settings):
    settings.NOTIFICATIONS_REDIS_URL = ""
    settings.NOTIFICATIONS_RATE_LIMITS_SPEC = "push:fcm=20/s"
    from notifications.services import ratelimit

    granted: list[float] = []
    lock = threading.Lock()

    def worker():
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            wait = ratelimit.acquire("push", "fcm")
            if wait == 0:
                with lock:
                    granted.append(time.monotonic())
            else:
                time.sleep(wait)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _max_in_window(granted, 0.99) <= 20
    assert 20 <= len(granted) <= 32  # 20/s for 1.5 s, plus the burst allowance (a loaded box may lag)


@pytest.mark.django_db
def test_a_limited_message_is_deferred_not_failed(customer, twilio_fake, settings):
    from django.utils import timezone

    from notifications.models import Message, MessageStatus
    from notifications.services import delivery
    from notifications.services.preferences import update_preferences
    from tests.notifications.factories import notify

    settings.NOTIFICATIONS_RATE_LIMITS_SPEC = "sms:twilio=2/s,1000/d"
    settings.NOTIFICATIONS_MAX_INLINE_WAIT_SECONDS = 0  # do not wait inline: defer
    update_preferences(customer, {("status", "sms"): True})
    for _ in range(5):
        notify(customer, channels=["sms"], mode="chosen")
    delivery.deliver_batch()

    messages = list(Message.objects.filter(channel="sms"))
    sent = [m for m in messages if m.status == MessageStatus.SENT]
    deferred = [m for m in messages if m.status == MessageStatus.QUEUED]
    assert len(sent) == 2 and len(deferred) == 3 and len(twilio_fake.sent) == 2
    for message in deferred:
        assert message.attempts == 0 and message.last_error == ""
        assert timezone.now() < message.not_before <= timezone.now() + timezone.timedelta(seconds=1.1)
        (event,) = message.events.all()
        assert event.kind == "deferred" and event.detail["reason"] == "rate limit of sms:twilio"
