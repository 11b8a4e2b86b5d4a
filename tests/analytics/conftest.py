"""Fixtures of the analytics tests. They run as they are (SQLite, direct storage) and with
DATABASE_URL / REDIS_URL (PostgreSQL partitions, Redis-buffered ingestion): every test that posts
events calls the real flush (``flushed``) before it looks at the database."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from analytics.services import buffer, identity, partitions, request_info
from tests.analytics.factories import MIDDLEWARE


@pytest.fixture(autouse=True)
def _analytics_state(settings):
    """A clean slate: rate-limit counters, cached salts, the Redis stream, GeoIP readers; the
    request middleware installed as the README asks."""
    if MIDDLEWARE not in settings.MIDDLEWARE:
        position = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
        settings.MIDDLEWARE = [*settings.MIDDLEWARE[:position], MIDDLEWARE, *settings.MIDDLEWARE[position:]]
    cache.clear()
    identity.forget_cached_salts()
    partitions.forget_known()  # partitions made in a rolled-back test transaction are gone
    request_info.forget_geoip_readers()
    if buffer.mode() == "redis":
        buffer.redis_client().delete(settings.ANALYTICS_STREAM_KEY)
    yield
    identity.forget_cached_salts()
    request_info.forget_geoip_readers()


@pytest.fixture
def flushed():
    """Store what the ingestion buffered (a no-op in direct mode, where requests store at once)."""

    def flush():
        return buffer.flush_events()

    return flush
