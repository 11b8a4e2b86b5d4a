"""Storage: the Redis buffer (exactly once), PostgreSQL partitions, retention, maintenance."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from analytics import tasks
from analytics.models import DailySalt, Event, IngestCursor, Session
from analytics.services import buffer, partitions
from tests.analytics.factories import Visitor, at, batch, event, post_events, store

pytestmark = pytest.mark.django_db

redis_only = pytest.mark.skipif(buffer.mode() != "redis", reason="needs REDIS_URL (Redis-buffered ingestion)")
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs DATABASE_URL (PostgreSQL)"
)


# --- buffering -------------------------------------------------------------------------------------------


@redis_only
@pytest.mark.redis
def test_requests_append_to_the_stream_and_the_flush_stores_each_batch_once(client):
    for path in ("/", "/book/", "/faq/"):
        assert post_events(client, batch(event("pageview", path))).status_code == 202
    assert buffer.pending_batches() == 3 and not Event.objects.exists()  # nothing stored by the requests
    result = buffer.flush_events()
    assert (result.events, result.sessions_created) == (3, 1)
    assert Session.objects.get().pages == ["/", "/book/", "/faq/"]
    assert buffer.flush_events().events == 0  # the cursor remembers
    assert IngestCursor.objects.get(name="events").position != "0-0"


@redis_only
@pytest.mark.redis
def test_a_flush_that_rolls_back_loses_nothing_and_stores_nothing_twice(client):
    post_events(client, batch(event("pageview", "/"), event("click", "/", sel="a", x=1, y=1)))
    with pytest.raises(RuntimeError), transaction.atomic():
        assert buffer.flush_events().events == 2
        raise RuntimeError("the worker dies before the commit")
    assert not Event.objects.exists() and buffer.pending_batches() == 1
    assert buffer.flush_events().events == 2
    assert buffer.flush_events().events == 0
    assert Event.objects.count() == 2


@redis_only
@pytest.mark.redis
def test_an_idle_flusher_wakes_for_a_new_batch_not_for_stored_ones(client):
    post_events(client, batch(event("pageview", "/")))
    started = time.monotonic()
    buffer.wait_for_events(30)  # a batch waits past the stored position: no wait
    assert time.monotonic() - started < 10
    assert buffer.flush_events().events == 1
    started = time.monotonic()
    buffer.wait_for_events(0.3)  # everything is stored: waits the whole timeout
    assert time.monotonic() - started >= 0.25
    assert Event.objects.count() == 1


def test_direct_mode_stores_in_the_request(client, settings):
    settings.ANALYTICS_BUFFER = "direct"
    post_events(client, batch(event("pageview", "/")))
    assert Event.objects.count() == 1
    assert buffer.pending_batches() == 0 and buffer.flush_events().events == 0


def test_a_broken_buffer_setting_is_reported(settings):
    settings.ANALYTICS_BUFFER = "kafka"
    with pytest.raises(ValueError, match="ANALYTICS_BUFFER must be auto, redis or direct, not 'kafka'"):
        buffer.mode()


def test_flush_command_and_task(client, flushed):
    post_events(client, batch(event("pageview", "/")))
    out = io.StringIO()
    call_command("analytics_flush", stdout=out)
    assert "Stored 1 events." in out.getvalue() or "Direct mode" in out.getvalue()
    assert tasks.flush_events() == 0
    assert Event.objects.count() == 1


# --- partitions and retention ------------------------------------------------------------------------------


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM analytics_event WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


@postgres_only
def test_events_land_in_monthly_partitions_made_on_demand(flushed):
    store(Visitor(), ("pageview", at("2031-01-15"), "/"), ("pageview", at("2031-02-01", "00:10:00"), "/"))
    flushed()
    january, february = Event.objects.order_by("occurred_at")
    assert _partition_of(january.id) == "analytics_event_p2031_01"
    assert _partition_of(february.id) == "analytics_event_p2031_02"
    assert {"analytics_event_p2031_01", "analytics_event_p2031_02"} <= set(partitions.existing_partitions())


@postgres_only
def test_partitions_are_made_ahead_and_old_ones_dropped():
    now = at("2031-06-10")
    made = partitions.ensure_ahead(now)
    assert made == [f"analytics_event_p2031_0{m}" for m in (5, 6, 7, 8)]
    assert set(made) <= set(partitions.existing_partitions())
    partitions.ensure_partition(at("2029-12-01").date())
    result = partitions.apply_retention(now, keep_months=13)
    assert (
        "analytics_event_p2029_12" in result["dropped"]
        and "analytics_event_p2031_05" not in result["dropped"]
    )
    assert "analytics_event_p2029_12" not in partitions.existing_partitions()


def test_retention_keeps_recent_events(flushed):
    now = timezone.now()
    old, recent = now - timedelta(days=500), now - timedelta(days=2)
    store(Visitor(), ("pageview", old, "/old/"))
    store(Visitor(), ("pageview", recent, "/recent/"))
    flushed()
    result = partitions.apply_retention(now, keep_months=13)
    assert list(Event.objects.values_list("path", flat=True)) == ["/recent/"]
    assert result["deleted"] == 1 or any(name.startswith("analytics_event_p") for name in result["dropped"])
    assert partitions.apply_retention(now, keep_months=0) == {"dropped": [], "deleted": 0}


def test_maintenance_command_rotates_salts_and_prepares_storage():
    out = io.StringIO()
    call_command("analytics_maintenance", stdout=out)
    assert '"salts"' in out.getvalue() and '"retention"' in out.getvalue()
    assert DailySalt.objects.filter(day=timezone.now().date()).exists()
    assert tasks.rotate_salts()["deleted"] == 0
    assert "created" in tasks.maintain_storage()


def test_partition_month_arithmetic():
    assert partitions.add_months(at("2026-11-01").date(), 3) == at("2027-02-01").date()
    assert partitions.add_months(at("2026-01-01").date(), -1) == at("2025-12-01").date()
    assert partitions.month_of(at("2026-03-31", "23:59:59")) == at("2026-03-01").date()
    assert partitions.partition_name(at("2026-03-01").date()) == "analytics_event_p2026_03"


def test_when_redis_is_down_batches_are_stored_directly(client, settings, caplog):
    settings.ANALYTICS_BUFFER = "redis"
    settings.ANALYTICS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = post_events(client, batch(event("pageview", "/")))
    assert response.status_code == 202
    assert Event.objects.count() == 1  # no flush needed
    assert "Redis unavailable" in caplog.text
