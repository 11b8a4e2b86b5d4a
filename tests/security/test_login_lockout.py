"""Login brute force: django-axes locks a (username, client IP) pair out after AXES_FAILURE_LIMIT
failures, on the site login, the admin login and the API token endpoint, with a clear 429."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def _fail(client, url: str, username: str, times: int, **extra) -> list[int]:
    return [
        client.post(url, {"username": username, "password": "wrong-password"}, **extra).status_code
        for _ in range(times)
    ]


@pytest.mark.parametrize("url", ["/account/login/", "/admin/login/"])
def test_page_logins_lock_out_after_the_limit_with_a_clear_429_page(client, staff_user, url):
    statuses = _fail(client, url, staff_user.username, LIMIT - 1)
    assert statuses == [200] * (LIMIT - 1)  # the form again, with its error
    locked = client.post(url, {"username": staff_user.username, "password": "wrong-password"})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page and "15 minutes" in page
    assert "Content-Security-Policy" in locked.headers
    # Locked out even with the right password, until the cool-off ends.
    right = client.post(url, {"username": staff_user.username, "password": DEFAULT_PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_ip(client, customer, staff_user):
    _fail(client, reverse("login"), customer.user.username, LIMIT)
    assert (
        client.post(
            reverse("login"), {"username": customer.user.username, "password": DEFAULT_PASSWORD}
        ).status_code
        == 429
    )
    # Another user from the same address is not affected …
    other = client.post(reverse("login"), {"username": staff_user.username, "password": DEFAULT_PASSWORD})
    assert other.status_code == 302
    # … nor the same user from another address.
    client.logout()
    elsewhere = client.post(
        reverse("login"),
        {"username": customer.user.username, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert elsewhere.status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, customer, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt, AccessAttemptExpiration
    from django.db.models import F

    _fail(client, reverse("login"), customer.user.username, LIMIT)
    assert (
        client.post(
            reverse("login"), {"username": customer.user.username, "password": DEFAULT_PASSWORD}
        ).status_code
        == 429
    )
    # Time passes: move the attempts (and their expiry) 16 minutes into the past.
    past = timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - past)
    AccessAttemptExpiration.objects.update(expires_at=F("expires_at") - past)
    assert (
        client.post(
            reverse("login"), {"username": customer.user.username, "password": DEFAULT_PASSWORD}
        ).status_code
        == 302
    )


def test_a_success_before_the_limit_resets_the_count(client, customer):
    _fail(client, reverse("login"), customer.user.username, LIMIT - 1)
    assert (
        client.post(
            reverse("login"), {"username": customer.user.username, "password": DEFAULT_PASSWORD}
        ).status_code
        == 302
    )
    client.logout()
    assert _fail(client, reverse("login"), customer.user.username, LIMIT - 1) == [200] * (LIMIT - 1)


def test_the_api_token_endpoint_locks_out_with_json(client, customer):
    url = reverse("api-token")
    body = {"username": customer.user.username, "password": "wrong-password"}
    statuses = [client.post(url, body, content_type="application/json").status_code for _ in range(LIMIT - 1)]
    assert statuses == [400] * (LIMIT - 1)
    locked = client.post(url, body, content_type="application/json")
    assert locked.status_code == 429, locked.content
    assert int(locked["Retry-After"]) == 15 * 60
    data = locked.json()
    assert "Too many failed sign-in attempts" in data["detail"] and data["errors"] == {}
    right = client.post(url, {**body, "password": DEFAULT_PASSWORD}, content_type="application/json")
    assert right.status_code == 429
    # Another user still gets a token.


def test_the_api_token_endpoint_still_issues_tokens(client, customer):
    response = client.post(
        reverse("api-token"),
        {"username": customer.user.username, "password": DEFAULT_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200 and len(response.json()["token"]) == 40


def test_spraying_many_usernames_from_one_address_is_locked_out(client, staff_user, settings):
    """One password tried on many accounts never reaches the per-(username, address) limit; the
    address's own limit locks it out, and other addresses are unaffected."""
    settings.AXES_IP_FAILURE_LIMIT = 8
    statuses = [
        client.post(reverse("login"), {"username": f"victim{n}", "password": "Summer2026!"}).status_code
        for n in range(8)
    ]
    assert statuses == [200] * 7 + [429]
    assert client.post(reverse("login"), {"username": "victim99", "password": "x"}).status_code == 429
    # Even the right password of a real account, from that address, waits for the cool-off …
    right = client.post(reverse("login"), {"username": staff_user.username, "password": DEFAULT_PASSWORD})
    assert right.status_code == 429
    # … while the same account from another address signs in.
    elsewhere = client.post(
        reverse("login"),
        {"username": staff_user.username, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert elsewhere.status_code == 302
