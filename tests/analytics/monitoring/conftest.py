"""A planted seasonal history in the hourly rollups: seven weeks (Monday 2026-10-05 00:00 UTC to
Monday 2026-11-23 00:00 UTC) with a daily cycle (nights quiet, evenings busiest), quieter weekends,
a day-to-day drift of the level (about ±6 %) and counting noise (Poisson / binomial), from a fixed seed.

The last week (from ``LAST_WEEK``) is the one the tests judge; the six before it are its baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db.models import F

from analytics.models import EventRollup, EventType, SessionRollup

HISTORY_START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
WEEKS = 7
LAST_WEEK = HISTORY_START + timedelta(weeks=WEEKS - 1)  # Monday 2026-11-16
HISTORY_END = HISTORY_START + timedelta(weeks=WEEKS)
HOUR = timedelta(hours=1)
#: Share of the peak traffic per hour of the day (UTC): night trough, lunch bump, evening peak.
DAY_SHAPE = [
    0.12, 0.08, 0.06, 0.05, 0.05, 0.07, 0.15, 0.30, 0.45, 0.55, 0.60, 0.65,
    0.70, 0.65, 0.60, 0.60, 0.65, 0.75, 0.90, 1.00, 1.00, 0.85, 0.55, 0.25,
]  # fmt: skip
PEAK_PAGEVIEWS = 6000
WEEKEND_FACTOR = 0.5


@dataclass
class Hourly:
    pageviews: int
    sessions: int
    conversions: int
    js_errors: int
    rage_clicks: int
    payments_ok: int
    payments_failed: int


def expected_shape(hour: datetime) -> float:
    return DAY_SHAPE[hour.hour] * (WEEKEND_FACTOR if hour.weekday() >= 5 else 1.0)


def daily_wobble(rng: np.random.Generator, days: int) -> list[float]:
    """Day-to-day level drift: an AR(1) around 1 (stationary spread about ±5.6 %)."""
    level, levels = 1.0, []
    for _ in range(days):
        level = 1 + 0.7 * (level - 1) + rng.normal(0, 0.04)
        levels.append(level)
    return levels


def plant_history(seed: int = 7) -> dict[datetime, Hourly]:
    """Write the rollups (one EventRollup row per type and hour, one SessionRollup row per hour)."""
    rng = np.random.default_rng(seed)
    events, sessions, planted = [], [], {}
    wobble = daily_wobble(rng, WEEKS * 7)
    moment = HISTORY_START
    while moment < HISTORY_END:
        mean = PEAK_PAGEVIEWS * expected_shape(moment) * wobble[(moment - HISTORY_START).days]
        pageviews = int(rng.poisson(mean))
        visits = int(rng.poisson(pageviews / 2.5))
        evening = 18 <= moment.hour <= 21
        conversion_rate = (0.045 if evening else 0.035) * (0.85 if moment.weekday() >= 5 else 1.0)
        attempts = int(rng.poisson(visits * 0.03))
        failed = int(rng.binomial(attempts, 0.04))
        row = Hourly(
            pageviews=pageviews,
            sessions=visits,
            conversions=int(rng.binomial(visits, conversion_rate)),
            js_errors=int(rng.binomial(pageviews, 0.012)),
            rage_clicks=int(rng.binomial(pageviews, 0.008)),
            payments_ok=attempts - failed,
            payments_failed=failed,
        )
        planted[moment] = row
        for event_type, count in (
            (EventType.PAGEVIEW, row.pageviews),
            (EventType.JS_ERROR, row.js_errors),
            (EventType.RAGE_CLICK, row.rage_clicks),
            (EventType.PAYMENT_SUCCEEDED, row.payments_ok),
            (EventType.PAYMENT_FAILED, row.payments_failed),
        ):
            events.append(EventRollup(hour=moment, type=event_type, path="/", count=count))
        sessions.append(
            SessionRollup(
                hour=moment,
                entry_path="/",
                sessions=row.sessions,
                conversions=row.conversions,
                pageviews=row.pageviews,
            )
        )
        moment += HOUR
    EventRollup.objects.bulk_create(events, batch_size=2000)
    SessionRollup.objects.bulk_create(sessions, batch_size=2000)
    return planted


def scale_events(hour: datetime, event_type: int, factor: float) -> None:
    EventRollup.objects.filter(hour=hour, type=event_type).update(count=F("count") * factor)


def set_events(hour: datetime, event_type: int, count: int) -> None:
    EventRollup.objects.filter(hour=hour, type=event_type).update(count=count)


def scale_conversions(hour: datetime, factor: float) -> None:
    for rollup in SessionRollup.objects.filter(hour=hour):
        rollup.conversions = round(rollup.conversions * factor)
        rollup.save(update_fields=["conversions"])


@pytest.fixture
def history(db, settings):
    """The planted seven weeks; the current hour is never partial here (runs judge complete hours)."""
    settings.ANALYTICS_ALERT_PARTIAL_HOUR_MINUTES = 61
    return plant_history()
