"""Fixtures shared by all tests: people in each role, tickets, private media."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from tests.factories import (
    CustomerWithLoginFactory,
    StaffFactory,
    TechnicianFactory,
    make_ticket,
)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Uploaded files go to a per-test folder, never the developer's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Templates render without a collectstatic run (the manifest storage is tested on its own)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counts live in the cache, which outlives a test: each test starts with none."""
    from revivatech.security.ratelimit import reset_rate_limits

    reset_rate_limits()


@pytest.fixture(autouse=True)
def _empty_analytics_buffer(settings):
    """Events buffered in the Redis stream outlive a test's rolled-back (or flushed) rows: a later
    flush would store events of customers that no longer exist. Each test starts with none."""
    from analytics.services import buffer

    if buffer.mode() == "redis":
        with contextlib.suppress(Exception):  # a test may point Redis somewhere dead
            buffer.redis_client().delete(settings.ANALYTICS_STREAM_KEY)


@pytest.fixture(autouse=True)
def _fresh_feature_flags():
    """Flags are cached in the cache, which outlives a test's rolled-back rows: each test starts
    from the flags' registered defaults."""
    from revivatech import flags

    flags.forget_cached()
    yield
    flags.forget_cached()


@pytest.fixture(autouse=True)
def _no_cached_closed_day_vitals(settings):
    """The summed web vitals of past days are cached for an hour in production; tests plant
    different histograms for the same days, so they read them fresh (one test covers the cache)."""
    settings.ANALYTICS_VITALS_CLOSED_DAYS_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def technician(db):
    return TechnicianFactory()


@pytest.fixture
def other_technician(db):
    return TechnicianFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def customer(db):
    """A customer with a login."""
    return CustomerWithLoginFactory()


@pytest.fixture
def other_customer(db):
    return CustomerWithLoginFactory()


@pytest.fixture
def ticket(db, customer, technician):
    """A booked ticket of ``customer`` assigned to ``technician``."""
    return make_ticket(customer=customer, technician=technician)


@pytest.fixture
def other_ticket(db, other_customer, other_technician):
    return make_ticket(customer=other_customer, technician=other_technician)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}
