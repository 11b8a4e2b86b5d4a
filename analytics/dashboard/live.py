"""Live counters: distinct visitors and page views of the last few minutes.

With Redis (``REDIS_URL``), each stored batch adds its visitors to a HyperLogLog per minute
(``PFADD``; "visitors now" is one ``PFCOUNT`` over the window's keys, which counts the union) and
its page views to a counter per minute (``INCRBY``), in one pipelined round trip; the same keys
exist per value of each segment dimension (``…:device_type:mobile``). Keys expire after two hours.
A segment of two or more dimensions, and the embedded default without Redis, read the database
instead: sessions seen in the window (an index range) and page views of the window.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from ..models import EventType
from ..selectors import SEGMENT_FIELDS, Segment
from ..services import buffer
from . import selectors

logger = logging.getLogger(__name__)

KEY_TTL_SECONDS = 2 * 3600
# Positions in the stored event rows (analytics.services.storage.EVENT_COLUMNS).
_AT, _TYPE, _VK, _DID = 0, 1, 3, 4
_DIMS = {"device_type": 7, "browser": 8, "country": 10, "utm_source": 11}


@dataclass(frozen=True)
class LiveFigures:
    visitors_now: int
    pageviews_last_5_min: int
    source: str
    window_seconds: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "visitors_now": self.visitors_now,
            "pageviews_last_5_min": self.pageviews_last_5_min,
            "source": self.source,
            "window_seconds": self.window_seconds,
        }


def redis_enabled() -> bool:
    return bool(settings.ANALYTICS_REDIS_URL)


def _key(kind: str, minute: int, dimension: str = "", value: str = "") -> str:
    suffix = f":{dimension}:{value}" if dimension else ""
    return f"{settings.DASHBOARD_LIVE_KEY_PREFIX}:{kind}:{minute}{suffix}"


def record(rows: list[tuple]) -> None:
    """Count stored events (rows in ``EVENT_COLUMNS`` order) in the live counters (Redis only)."""
    if not rows or not redis_enabled():
        return
    # A flush holds many events of few visitors: group them by (minute, visitor, segment values)
    # first, so each group's keys are built once rather than for every event.
    groups: dict[tuple, int] = defaultdict(int)  # -> page views
    pageview = EventType.PAGEVIEW
    for row in rows:
        group = (int(row[_AT].timestamp()) // 60, row[_DID] or row[_VK], *(row[i] for i in _DIMS.values()))
        groups[group] += row[_TYPE] == pageview
    prefix = settings.DASHBOARD_LIVE_KEY_PREFIX
    visitors: dict[str, set[str]] = defaultdict(set)
    views: dict[str, int] = defaultdict(int)
    for (minute, identity, *values), pageviews in groups.items():
        member = identity.hex if identity else None
        suffixes = [""] + [f":{name}:{value}" for name, value in zip(_DIMS, values, strict=True) if value]
        for suffix in suffixes:
            if member:
                visitors[f"{prefix}:uv:{minute}{suffix}"].add(member)
            if pageviews:
                views[f"{prefix}:pv:{minute}{suffix}"] += pageviews
    try:
        pipe = buffer.redis_client().pipeline(transaction=False)
        for key, members in visitors.items():
            pipe.pfadd(key, *members)
            pipe.expire(key, KEY_TTL_SECONDS)
        for key, count in views.items():
            pipe.incrby(key, count)
            pipe.expire(key, KEY_TTL_SECONDS)
        pipe.execute()
    except Exception:  # a dashboard figure must never break storing events
        logger.warning("dashboard: live counters not updated", exc_info=True)


def _window_minutes(now: datetime) -> list[int]:
    minutes = max(1, math.ceil(settings.DASHBOARD_LIVE_WINDOW_SECONDS / 60))
    current = int(now.timestamp()) // 60
    return list(range(current - minutes + 1, current + 1))


def figures(segment: Segment, now: datetime) -> LiveFigures:
    """Visitors and page views of the live window, for the segment."""
    window = settings.DASHBOARD_LIVE_WINDOW_SECONDS
    dimensions = [(name, getattr(segment, name)) for name in SEGMENT_FIELDS if getattr(segment, name)]
    if redis_enabled() and len(dimensions) <= 1:
        dimension, value = dimensions[0] if dimensions else ("", "")
        minutes = _window_minutes(now)
        try:
            client = buffer.redis_client()
            pipe = client.pipeline(transaction=False)
            pipe.pfcount(*[_key("uv", m, dimension, value) for m in minutes])
            pipe.mget([_key("pv", m, dimension, value) for m in minutes])
            unique, views = pipe.execute()
            return LiveFigures(int(unique), sum(int(v) for v in views if v), "redis", window)
        except Exception:
            logger.warning("dashboard: live counters unavailable, reading the database", exc_info=True)
    since = now - timedelta(seconds=window)
    return LiveFigures(
        selectors.active_visitors_in_segment(since, segment),
        selectors.pageviews_since_from_database(since, segment),
        "database",
        window,
    )
