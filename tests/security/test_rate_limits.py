"""Rate limits answer 429 with Retry-After (and the API's JSON error shape), per client IP and per
user/token, and let requests through again once the window has passed."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from repairs.models import RepairTicket
from tests.analytics.factories import batch, event, post_events
from tests.factories import BOOKING_FORM

pytestmark = pytest.mark.django_db

BOOKING = BOOKING_FORM


def test_booking_page_posts_are_limited_per_ip_with_a_429_page(client, settings):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "booking_ip": "2/hour"}
    statuses = [client.post(reverse("book"), BOOKING).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert RepairTicket.objects.count() == 2
    refused = client.post(reverse("book"), BOOKING)
    assert refused.status_code == 429
    assert 3500 < int(refused["Retry-After"]) <= 3600
    page = refused.content.decode()
    assert "Too many requests" in page and "60 minutes" in page
    assert client.get(reverse("book")).status_code == 200  # reading the form is never limited
    other_address = client.post(reverse("book"), BOOKING, REMOTE_ADDR="198.51.100.20")
    assert other_address.status_code == 302


def test_booking_is_limited_per_signed_in_user_across_addresses(client, settings, customer):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "booking_user": "1/hour"}
    client.force_login(customer.user)
    assert client.post(reverse("book"), BOOKING, REMOTE_ADDR="198.51.100.1").status_code == 302
    assert client.post(reverse("book"), BOOKING, REMOTE_ADDR="198.51.100.2").status_code == 429


def test_booking_recovers_after_the_window(client, settings):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "booking_ip": "1/4s"}
    assert client.post(reverse("book"), BOOKING).status_code == 302
    refused = client.post(reverse("book"), BOOKING)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 4
    time.sleep(int(refused["Retry-After"]) + 0.1)
    assert client.post(reverse("book"), BOOKING).status_code == 302


def _write(client, ticket, token: Token, ip: str = "127.0.0.1"):
    """An API write (a note on the ticket); the body is invalid on purpose: throttles count first."""
    return client.post(
        f"/api/v1/repairs/{ticket.reference}/notes/",
        {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
        REMOTE_ADDR=ip,
    )


def test_api_writes_are_limited_per_token_with_json_and_retry_after(client, settings, ticket, technician):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "api_write_user": "3/minute"}
    token = Token.objects.create(user=technician)
    statuses = [_write(client, ticket, token, ip=f"198.51.100.{n}").status_code for n in range(3)]
    assert statuses == [400, 400, 400]
    refused = _write(client, ticket, token, ip="198.51.100.99")  # a new address does not help
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    body = refused.json()
    assert body["detail"].startswith("Request was throttled.") and body["errors"] == {}
    # Reads are not limited; other users are not affected.
    listing = client.get("/api/v1/repairs/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert listing.status_code == 200


def test_api_writes_are_limited_per_ip_and_recover(client, settings, ticket, technician, staff_user):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "api_write_ip": "2/6s"}
    first, second = Token.objects.create(user=technician), Token.objects.create(user=staff_user)
    assert [_write(client, ticket, token).status_code for token in (first, second)] == [400, 400]
    refused = _write(client, ticket, second)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 6
    time.sleep(int(refused["Retry-After"]) + 0.1)
    assert _write(client, ticket, first).status_code == 400


def test_anonymous_api_writes_are_limited_per_ip(client, settings):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "api_write_ip": "2/minute"}
    body = {"username": "nobody", "password": "x"}
    statuses = [
        client.post(reverse("api-token"), body, content_type="application/json").status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_rates_accept_a_multiple_of_the_period():
    from revivatech.security.ratelimit import WriteIPThrottle

    throttle = WriteIPThrottle()
    assert throttle.parse_rate("5/10m") == (5, 600)
    assert throttle.parse_rate("120/minute") == (120, 60)
    assert throttle.parse_rate("2/6s") == (2, 6)


def test_event_ingestion_keeps_its_own_limits_in_the_same_shape(client, settings):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "api_write_ip": "1/minute"}
    settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = 2
    settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE = 0
    statuses = [post_events(client, batch(event("pageview", "/"))).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]  # the API-write throttle (1/minute) does not apply to beacons
    refused = post_events(client, batch(event("pageview", "/")))
    assert 0 < int(refused["Retry-After"]) <= 60
    assert set(refused.json()) >= {"detail", "errors"}
