"""Sentry, through the real sentry_sdk against a loopback fake of the ingest endpoint: an
exception in a view arrives tagged with the request id, without personal data."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.test import Client

from revivatech.observability.sentry import init_from_settings, init_sentry
from tests.fakes.sentry import FakeSentry

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.observability.urls")]


@pytest.fixture
def fake_sentry():
    with FakeSentry() as fake:
        yield fake
    sentry_sdk.init()  # back to no DSN: nothing is sent


def test_without_a_dsn_nothing_is_initialised(settings):
    settings.SENTRY_DSN = ""
    assert init_from_settings() is False
    assert init_sentry("") is False


def test_an_exception_arrives_with_the_request_id_and_no_personal_data(fake_sentry, customer, json_logs):
    assert init_sentry(fake_sentry.dsn, environment="ci", release="revivatech@test", traces_sample_rate=0.0)
    client = Client(raise_request_exception=False)
    client.force_login(customer.user)
    client.cookies["csrftoken"] = "csrf-cookie-value-123456"

    response = client.get(
        "/obs-test/boom/?email=jane.doe@example.com",
        HTTP_X_REQUEST_ID="req-sentry-0123456789",
        HTTP_AUTHORIZATION="Token secret-api-token-value",
    )
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-sentry-0123456789"
    sentry_sdk.flush(timeout=10)

    events = fake_sentry.events()
    assert len(events) == 1, fake_sentry.items
    event = events[0]
    assert event["tags"]["request_id"] == "req-sentry-0123456789"
    assert event["environment"] == "ci" and event["release"] == "revivatech@test"
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "DeliberateError"
    assert event["transaction"] == "/obs-test/boom/"
    raw = json.dumps(event)
    session_cookie = client.cookies["sessionid"].value
    for secret in (customer.user.email, session_cookie, "csrf-cookie-value-123456", "secret-api-token-value"):
        assert secret not in raw
    assert "cookies" not in event.get("request", {})
    assert "email" not in event.get("user", {})
    # The log line of the failure has the same id, so the two can be joined.
    failed = json_logs.where(event="request_failed", request_id="req-sentry-0123456789")
    assert len(failed) == 1 and failed[0]["status"] == 500 and failed[0]["route"] == "obs-test-boom"
