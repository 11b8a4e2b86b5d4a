"""``RATE_LIMIT_EXEMPT_USERNAMES`` lifts the write limits for the listed account only (a benchmark's
own user on its own server): everyone else, on the same IP too, stays limited as in production."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.security.test_rate_limits import _write

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_staff(db):
    user = get_user_model().objects.create_user(username="bench-staff", is_staff=True)
    user.groups.add(Group.objects.get(name="Staff"))
    return user


@pytest.fixture
def tight_limits(settings):
    settings.SECURITY_RATE_LIMITS = {
        **settings.SECURITY_RATE_LIMITS,
        "api_write_user": "2/minute",
        "api_write_ip": "3/minute",
    }
    settings.RATE_LIMIT_EXEMPT_USERNAMES = frozenset({"bench-staff"})
    return settings


def test_the_listed_user_is_never_refused_and_others_on_the_same_ip_still_are(
    client, tight_limits, ticket, bench_staff, staff_user
):
    exempt = Token.objects.create(user=bench_staff)
    other = Token.objects.create(user=staff_user)
    # Well over both limits: the exempt account's writes all reach the view (400: the body is empty).
    assert {_write(client, ticket, exempt).status_code for _ in range(8)} == {400}
    # Its writes were not counted against the shared IP either: another staff member from the same
    # address gets exactly the per-user allowance, then 429.
    assert [_write(client, ticket, other).status_code for _ in range(3)] == [400, 400, 429]
    assert _write(client, ticket, exempt).status_code == 400


def test_the_exemption_is_by_username_of_a_signed_in_active_user(client, tight_limits, ticket, bench_staff):
    # Anonymous requests cannot claim it (the per-IP limit applies).
    body = {"username": "bench-staff", "password": "x"}
    statuses = [
        client.post(reverse("api-token"), body, content_type="application/json").status_code for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    # A deactivated exempt account is not exempt (nor signed in at all through its token).
    bench_staff.is_active = False
    bench_staff.save()
    token = Token.objects.create(user=bench_staff)
    assert _write(client, ticket, token).status_code == 401


def test_without_the_setting_the_same_user_is_limited(client, settings, ticket, bench_staff):
    settings.SECURITY_RATE_LIMITS = {**settings.SECURITY_RATE_LIMITS, "api_write_user": "2/minute"}
    assert not settings.RATE_LIMIT_EXEMPT_USERNAMES  # the default exempts nobody
    token = Token.objects.create(user=bench_staff)
    assert [_write(client, ticket, token).status_code for _ in range(3)] == [400, 400, 429]
