"""Bounded analytics rows (issue #15, item 6): paths the site does not have and campaign values
are stored as sent, so a flood of random ones made one rollup row each (40 requests: about 24,000
rows). Past a daily cap, unknown paths and UTM values are stored as "(other)"."""

from __future__ import annotations

import secrets
import uuid

import pytest

from analytics.models import (
    DailyEventRollup,
    DailyEventSlice,
    DailySessionRollup,
    DailySessionSlice,
    Event,
    EventRollup,
    EventType,
    Session,
    SessionRollup,
)
from analytics.services.storage import store_batches
from tests.analytics.factories import Visitor, batch, event, now_ms, post_events

pytestmark = pytest.mark.django_db

ROLLUPS = (
    EventRollup,
    SessionRollup,
    DailyEventRollup,
    DailySessionRollup,
    DailyEventSlice,
    DailySessionSlice,
)


def rollup_rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in ROLLUPS}


@pytest.fixture
def caps(settings):
    settings.ANALYTICS_MAX_UNKNOWN_PATHS_PER_DAY = 30
    settings.ANALYTICS_MAX_UTM_VALUES_PER_DAY = 20
    settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = 0
    settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE = 0
    return settings


def test_the_defaults_are_set(settings):
    assert settings.ANALYTICS_MAX_UNKNOWN_PATHS_PER_DAY == 500
    assert settings.ANALYTICS_MAX_UTM_VALUES_PER_DAY == 200
    assert settings.ANALYTICS_UTM_MAX_LENGTH == 100


def test_a_flood_of_5000_random_paths_and_campaigns_keeps_the_rollups_bounded(caps):
    """5,000 visitors, each a page view of a random path with random UTM values (one flush)."""
    t = now_ms()
    batches = []
    for _ in range(5000):
        utm = {key: secrets.token_hex(8) for key in ("utm_source", "utm_medium", "utm_campaign")}
        path = f"/{secrets.token_hex(6)}/"
        batches.append({"ctx": Visitor().ctx(), "ev": [[int(EventType.PAGEVIEW), t, path, {"utm": utm}]]})
    for start in range(0, len(batches), 1000):
        store_batches(batches[start : start + 1000])
    rows = rollup_rows()
    # Per (hour|day) the dimensions are at most 30 paths + "(other)", 20 sources + "(other)".
    assert rows["EventRollup"] <= 31 * 21, rows
    assert rows["SessionRollup"] <= 31 * 21, rows
    assert rows["DailyEventRollup"] <= 31 * 21, rows
    assert rows["DailySessionRollup"] <= 21, rows
    assert sum(rows.values()) < 3000, rows
    assert Session.objects.exclude(utm_source="(other)").values("utm_source").distinct().count() == 20
    assert Session.objects.exclude(utm_medium="(other)").values("utm_medium").distinct().count() == 20
    assert Session.objects.exclude(utm_campaign="(other)").values("utm_campaign").distinct().count() == 20
    assert Event.objects.exclude(path="(other)").values("path").distinct().count() == 30
    assert Event.objects.count() == 5000  # nothing is lost: counted under "(other)"
    assert EventRollup.objects.filter(path="(other)").exists()


def test_pages_of_the_site_are_never_collapsed_and_the_first_unknown_ones_are_kept(client, flushed, caps):
    for ip in range(1, 41):  # 40 requests of 100 random paths each, from the API
        events = [event("pageview", f"/{uuid.uuid4().hex}/") for _ in range(100)]
        response = post_events(client, batch(*events), ip=f"198.51.100.{ip}")
        assert response.status_code == 202, response.content
    for path in ("/book/", f"/track/{secrets.token_urlsafe(16)}/", "/"):
        assert post_events(client, batch(event("pageview", path))).status_code == 202
    flushed()
    paths = set(Event.objects.values_list("path", flat=True))
    assert {"/book/", "/track/{token}/", "/", "(other)"} <= paths
    assert len(paths) == 30 + 4
    assert EventRollup.objects.count() <= 34 * 41, rollup_rows()


def test_long_campaign_values_are_cut_to_the_limit_not_refused(client, flushed, caps):
    caps.ANALYTICS_UTM_MAX_LENGTH = 40
    response = post_events(client, batch(event("pageview", "/", utm={"utm_campaign": "x" * 90})))
    assert response.status_code == 202 and response.json()["accepted"] == 1
    flushed()
    assert Session.objects.get().utm_campaign == "x" * 40
