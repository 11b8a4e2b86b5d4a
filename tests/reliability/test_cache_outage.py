"""Redis (the cache and the Celery broker) goes away: a customer's booking is still saved, its
confirmation waits in the outbox and is sent once Redis is back; API writes still succeed.

The rate limits read their counts from the cache: they fail open (a warning log line and
``revivatech_rate_limit_fail_open_total{scope}``) instead of answering 503 "Nothing was saved".
The cache is a real Redis client pointed at a port where nothing listens (real connection errors)."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token

from notifications.models import Message, MessageStatus
from notifications.services import delivery
from repairs.models import RepairTicket
from tests.factories import BOOKING_FORM
from tests.fakes.smtp import FakeSMTPServer

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def fail_open_count(scope: str) -> float:
    value = REGISTRY.get_sample_value("revivatech_rate_limit_fail_open_total", {"scope": scope})
    return value or 0.0


@contextmanager
def broker_at(url: str):
    """The Celery app publishes to ``url`` (its producer pools are rebuilt), then back."""
    from revivatech.celery import app

    saved = app.conf.broker_url
    app.conf.broker_url = url
    app.amqp._producer_pool = None
    app._pool = None
    try:
        yield
    finally:
        app.conf.broker_url = saved
        app.amqp._producer_pool = None
        app._pool = None


@pytest.fixture
def redis_down(settings):
    """The cache and the broker point at a dead Redis; deliveries go through the broker (as deployed)."""
    live_caches = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "revivatech.cache.SharedRedisCache", "LOCATION": DEAD_REDIS}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with broker_at(DEAD_REDIS):
        yield
    settings.CACHES = live_caches


@pytest.fixture
def smtp(settings):
    with FakeSMTPServer() as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.NOTIFICATIONS_PROVIDERS = {"email": ["smtp"], "sms": [], "push": []}
        settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS = []
        yield server
        from notifications import providers

        providers.reset()


def test_a_booking_is_saved_during_a_redis_outage_and_confirmed_once_redis_is_back(
    client, settings, redis_down, smtp, caplog, django_capture_on_commit_callbacks
):
    before = fail_open_count("booking_ip")
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("book"), BOOKING_FORM)
    assert response.status_code == 302, response.content[:300]
    ticket = RepairTicket.objects.get()
    assert response["Location"] == reverse("track", args=[ticket.tracking_token])
    assert fail_open_count("booking_ip") == before + 1
    assert any(
        r.name == "revivatech.security.ratelimit"
        and r.levelno == logging.WARNING
        and "booking_ip" in r.getMessage()
        for r in caplog.records
    )
    confirmation = Message.objects.get(ticket=ticket, channel="email")
    assert confirmation.status == MessageStatus.QUEUED  # in the outbox, not lost, not failed
    assert smtp.messages == []

    # Redis is back: the sweeper (beat → worker) publishes the due rows and they are sent.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    delivery.sweep()
    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.SENT
    assert [m.recipients for m in smtp.messages] == [[BOOKING_FORM["email"]]]


def test_api_writes_succeed_during_a_cache_outage(client, settings, redis_down, ticket, technician):
    token = Token.objects.create(user=technician)
    before = fail_open_count("api_write_user")
    response = client.post(
        f"/api/v1/repairs/{ticket.reference}/notes/",
        {"text": "Board has corrosion"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201, response.content[:300]
    assert ticket.notes.filter(text="Board has corrosion").exists()
    assert fail_open_count("api_write_user") == before + 1
