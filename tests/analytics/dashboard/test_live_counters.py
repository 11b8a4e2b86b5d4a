"""The live counters (Redis): what one stored flush adds, per minute and per segment value."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

from analytics.dashboard import live
from analytics.models import EventType

PREFIX = "t:live"


class RecordingPipeline:
    def __init__(self, visitors: dict, views: dict, expiring: set) -> None:
        self.visitors, self.views, self.expiring = visitors, views, expiring

    def pfadd(self, key, *members):
        self.visitors[key].update(members)

    def incrby(self, key, count):
        self.views[key] += count

    def expire(self, key, seconds):
        assert seconds == live.KEY_TTL_SECONDS
        self.expiring.add(key)

    def execute(self):
        return []


class RecordingRedis:
    def __init__(self) -> None:
        self.visitors: dict[str, set[str]] = defaultdict(set)
        self.views: dict[str, int] = defaultdict(int)
        self.expiring: set[str] = set()

    def pipeline(self, transaction=True):
        return RecordingPipeline(self.visitors, self.views, self.expiring)


def row(at, event_type, vk, did=None, device="", browser="", country="", utm=""):
    """An event row in ``analytics.services.storage.EVENT_COLUMNS`` order."""
    return (at, event_type, None, vk, did, None, "/", device, browser, "", country, utm, {})


def test_a_flush_counts_each_visitor_once_a_minute_and_every_page_view_per_segment_value(
    monkeypatch, settings
):
    settings.DASHBOARD_LIVE_KEY_PREFIX = PREFIX
    redis = RecordingRedis()
    monkeypatch.setattr(live, "redis_enabled", lambda: True)
    monkeypatch.setattr(live.buffer, "redis_client", lambda: redis)
    anna, ben, device = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    m1 = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
    m1_later = datetime(2026, 3, 2, 10, 0, 50, tzinfo=UTC)
    m2 = datetime(2026, 3, 2, 10, 1, 10, tzinfo=UTC)
    minute1, minute2 = int(m1.timestamp()) // 60, int(m2.timestamp()) // 60

    live.record(
        [
            row(m1, EventType.PAGEVIEW, anna, device="mobile", browser="Chrome", country="GB", utm="news"),
            row(m1_later, EventType.PAGEVIEW, anna, device="mobile", browser="Chrome", country="GB"),
            row(m1_later, EventType.CLICK, anna, device="mobile", browser="Chrome", country="GB"),
            # A consented device counts as its device id, not its visitor key.
            row(m1, EventType.CLICK, ben, did=device, device="desktop", browser="Firefox"),
            row(m2, EventType.PAGEVIEW, ben, did=device, device="desktop", browser="Firefox"),
        ]
    )

    def key(kind, minute, dimension="", value=""):
        return f"{PREFIX}:{kind}:{minute}" + (f":{dimension}:{value}" if dimension else "")

    assert dict(redis.visitors) == {
        key("uv", minute1): {anna.hex, device.hex},
        key("uv", minute1, "device_type", "mobile"): {anna.hex},
        key("uv", minute1, "browser", "Chrome"): {anna.hex},
        key("uv", minute1, "country", "GB"): {anna.hex},
        key("uv", minute1, "utm_source", "news"): {anna.hex},
        key("uv", minute1, "device_type", "desktop"): {device.hex},
        key("uv", minute1, "browser", "Firefox"): {device.hex},
        key("uv", minute2): {device.hex},
        key("uv", minute2, "device_type", "desktop"): {device.hex},
        key("uv", minute2, "browser", "Firefox"): {device.hex},
    }
    assert dict(redis.views) == {
        key("pv", minute1): 2,
        key("pv", minute1, "device_type", "mobile"): 2,
        key("pv", minute1, "browser", "Chrome"): 2,
        key("pv", minute1, "country", "GB"): 2,
        key("pv", minute1, "utm_source", "news"): 1,
        key("pv", minute2): 1,
        key("pv", minute2, "device_type", "desktop"): 1,
        key("pv", minute2, "browser", "Firefox"): 1,
    }
    assert redis.expiring == set(redis.visitors) | set(redis.views)


def test_nothing_is_counted_without_redis(monkeypatch):
    monkeypatch.setattr(live, "redis_enabled", lambda: False)
    monkeypatch.setattr(live.buffer, "redis_client", lambda: (_ for _ in ()).throw(AssertionError))
    live.record([row(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), EventType.PAGEVIEW, uuid.uuid4())])
