"""The planted data set of the dashboard tests: four visits on two days with known figures.

==========  ==========================  ============================================  ==============
visit       who                         events                                        outcome
==========  ==========================  ============================================  ==============
A  day 1    mobile Chrome GB (google)   10:00 / · 10:01 /book/ · 10:02 booking_started  2 pages, 180 s,
                                        · 10:03 booking_completed                     converted
B  day 1    desktop Firefox FR          11:00 /                                       bounce, 0 s
C  day 2    desktop Chrome GB           09:00 / · 09:00:30 /pricing/ · 09:01 rage      2 pages, 180 s,
                                        click · 09:02 quote_approved · 09:03 payment  converted
D  day 2    mobile Safari US            12:00 /book/                                  bounce, 0 s
==========  ==========================  ============================================  ==============
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.analytics.factories import Visitor, at, store


@dataclass(frozen=True)
class Planted:
    day1: date
    day2: date

    def custom(self, first: date | None = None, last: date | None = None, **segment: str) -> dict[str, str]:
        return {
            "range": "custom",
            "from": (first or self.day1).isoformat(),
            "to": (last or self.day2).isoformat(),
            **segment,
        }


@pytest.fixture(autouse=True)
def _private_live_keys(settings):
    """Each test counts live visitors under its own Redis keys."""
    settings.DASHBOARD_LIVE_KEY_PREFIX = f"test:dashboard:{uuid.uuid4().hex}"
    settings.DASHBOARD_TICK_DELAY_MS = 100


def plant_visits(flush) -> Planted:
    today = timezone.now().date()
    day1, day2 = today - timedelta(days=3), today - timedelta(days=2)
    d1, d2 = day1.isoformat(), day2.isoformat()
    a = Visitor(device_type="mobile", browser="Chrome", os="Android", country="GB")
    store(
        a,
        ("pageview", at(d1, "10:00:00"), "/", {"utm": {"utm_source": "google"}}),
        ("pageview", at(d1, "10:01:00"), "/book/"),
        ("booking_started", at(d1, "10:02:00"), "/book/"),
        ("booking_completed", at(d1, "10:03:00"), "/book/", {"ticket": "RT-AAAA"}),
    )
    b = Visitor(device_type="desktop", browser="Firefox", os="Linux", country="FR")
    store(b, ("pageview", at(d1, "11:00:00"), "/"))
    c = Visitor(device_type="desktop", browser="Chrome", os="Windows", country="GB")
    store(
        c,
        ("pageview", at(d2, "09:00:00"), "/"),
        ("pageview", at(d2, "09:00:30"), "/pricing/"),
        ("rage_click", at(d2, "09:01:00"), "/pricing/", {"selector": "#price"}),
        ("quote_approved", at(d2, "09:02:00"), "/track/"),
        ("payment_succeeded", at(d2, "09:03:00"), "/track/", {"amount": 8900, "currency": "GBP"}),
    )
    d = Visitor(device_type="mobile", browser="Safari", os="iOS", country="US")
    store(d, ("pageview", at(d2, "12:00:00"), "/book/"))
    flush()
    return Planted(day1, day2)


@pytest.fixture
def planted(db, flushed) -> Planted:
    return plant_visits(flushed)


def sign_in(client, user) -> None:
    """A signed-in session for ``user`` (as ``client.force_login``, without the login signal: the
    login-lockout handler cannot record a login without a client address on PostgreSQL)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
