"""Web-vitals p75 per page from the histograms the storage keeps: a planted distribution against
numpy's exact percentile (within the documented bound), ratings at the thresholds, segments, the
tracker path end to end, and a rebuild from raw events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from analytics.monitoring import selectors
from analytics.monitoring.models import WebVitalDailyHistogram, WebVitalHistogram
from analytics.monitoring.services import vitals
from analytics.selectors import Segment
from tests.analytics.factories import Visitor, batch, event, post_events, store

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 20, 9, tzinfo=UTC)
END = START + timedelta(hours=6)
BOUND = vitals.RELATIVE_ERROR_BOUND


def nearest_rank_p75(values) -> float:
    return float(np.percentile(np.asarray(values), 75, method="inverted_cdf"))


def plant(
    visitor: Visitor, path: str, name: str, values, start: datetime = START, per_batch: int = 500
) -> None:
    """Store web-vital events through the real storage, spread over six hours."""
    step = (END - start) / max(1, len(values))
    rows = [
        ("web_vital", start + step * i, path, {"name": name, "value": float(v)}) for i, v in enumerate(values)
    ]
    for first in range(0, len(rows), per_batch):
        store(visitor, *rows[first : first + per_batch])


def test_the_bound_and_the_thresholds_are_bucket_edges():
    assert pytest.approx(0.0247, abs=1e-4) == BOUND
    for name, (good, poor) in {"LCP": (2500, 4000), "INP": (200, 500), "CLS": (0.1, 0.25)}.items():
        edges = vitals.BUCKET_EDGES[name]
        assert good in edges and poor in edges
        ratios = [b / a for a, b in zip(edges, edges[1:], strict=False)]
        assert max(ratios) <= vitals.RATIO * (1 + 1e-5)


def test_p75_matches_numpy_on_a_planted_distribution_within_the_bound(flushed):
    rng = np.random.default_rng(3)
    planted = {
        ("/book/", "LCP"): rng.lognormal(math.log(1600), 0.5, 1500),
        ("/book/", "INP"): rng.lognormal(math.log(150), 0.7, 1200),
        ("/book/", "CLS"): np.clip(rng.gamma(1.2, 0.06, 1000), 0, 5),
        ("/", "LCP"): rng.lognormal(math.log(2800), 0.4, 600),
        ("/", "INP"): rng.lognormal(math.log(420), 0.5, 450),
        ("/", "CLS"): np.clip(rng.gamma(2.0, 0.15, 350), 0, 5),
    }
    visitor = Visitor()
    for (path, name), values in planted.items():
        plant(visitor, path, name, values)
    flushed()

    pages = {page["path"]: page for page in selectors.web_vitals_p75(START, END)}
    assert list(pages) == ["/book/", "/"]  # busiest first
    for (path, name), values in planted.items():
        key = name.lower()
        exact = nearest_rank_p75(values)
        reported = pages[path][f"{key}_p75_ms" if name != "CLS" else "cls_p75"]
        assert abs(reported - exact) <= BOUND * exact + (0.05 if name != "CLS" else 0.00005), (path, name)
        assert pages[path][f"{key}_rating"] == vitals.vital_rating(name, exact)
        assert pages[path][f"{key}_samples"] == len(values)
    assert pages["/book/"]["samples"] == 1500
    assert pages["/book/"]["lcp_rating"] == "good" and pages["/"]["lcp_rating"] == "needs-improvement"
    # Rows are bounded by hours × pages × vitals × buckets in use, not by the number of events.
    buckets_in_use = {
        (path, name): len({vitals.bucket_of(name, v) for v in values})
        for (path, name), values in planted.items()
    }
    assert WebVitalHistogram.objects.count() <= 6 * sum(buckets_in_use.values())


@pytest.mark.parametrize(
    ("name", "p75", "rating"),
    [
        ("LCP", 2500, "good"),
        ("LCP", 2500.5, "needs-improvement"),
        ("LCP", 4000, "needs-improvement"),
        ("LCP", 4000.5, "poor"),
        ("INP", 200, "good"),
        ("INP", 201, "needs-improvement"),
        ("INP", 500, "needs-improvement"),
        ("INP", 501, "poor"),
        ("CLS", 0.1, "good"),
        ("CLS", 0.1001, "needs-improvement"),
        ("CLS", 0.25, "needs-improvement"),
        ("CLS", 0.2501, "poor"),
    ],
)
def test_ratings_at_the_thresholds_are_exact(flushed, name, p75, rating):
    # Four samples: the nearest-rank p75 is the third.
    values = [p75 / 10, p75 / 2, p75, p75 * 10]
    plant(Visitor(), "/t/", name, values)
    flushed()
    (page,) = selectors.web_vitals_p75(START, END)
    assert page[f"{name.lower()}_rating"] == rating
    reported = page[f"{name.lower()}_p75_ms" if name != "CLS" else "cls_p75"]
    assert reported == pytest.approx(p75, rel=BOUND + 1e-3)
    others = {"LCP", "INP", "CLS"} - {name}
    assert all(page[f"{other.lower()}_p75{'_ms' if other != 'CLS' else ''}"] is None for other in others)
    assert all(page[f"{other.lower()}_rating"] is None for other in others)


def test_segment_and_time_range_filter_the_histograms(flushed):
    plant(Visitor(device_type="mobile", browser="Safari"), "/", "LCP", [5000] * 40)
    plant(Visitor(device_type="desktop"), "/", "LCP", [1000] * 60)
    plant(Visitor(device_type="desktop"), "/", "LCP", [9000] * 10, start=END + timedelta(hours=1))
    flushed()
    (everyone,) = selectors.web_vitals_p75(START, END)
    (mobile,) = selectors.web_vitals_p75(START, END, Segment(device_type="mobile"))
    (desktop,) = selectors.web_vitals_p75(START, END, Segment(device_type="desktop"))
    assert everyone["samples"] == 100 and mobile["samples"] == 40 and desktop["samples"] == 60
    assert mobile["lcp_rating"] == "poor" and desktop["lcp_rating"] == "good"
    assert everyone["lcp_p75_ms"] == pytest.approx(5000, rel=BOUND)
    assert selectors.web_vitals_p75(START, END, Segment(browser="Firefox")) == []


def test_the_tracker_path_feeds_the_histograms(client, flushed):
    """POST /api/v1/events/ as a browser, then the p75 panel sees the samples."""
    now = timezone.now()
    events = [event("pageview", "/book/")] + [
        event("web_vital", "/book/", name="LCP", value=v) for v in (1200, 1800, 2600, 5100)
    ]
    assert post_events(client, batch(*events)).status_code == 202
    flushed()
    (page,) = selectors.web_vitals_p75(now - timedelta(hours=1), now + timedelta(hours=1))
    assert page["path"] == "/book/" and page["lcp_samples"] == 4
    assert page["lcp_p75_ms"] == pytest.approx(2600, rel=BOUND) and page["lcp_rating"] == "needs-improvement"


def test_rebuild_recomputes_the_histograms_from_raw_events(flushed):
    plant(Visitor(), "/", "INP", [100, 150, 300, 800])
    flushed()
    before = list(WebVitalHistogram.objects.values_list("bucket", "count").order_by("bucket"))
    WebVitalHistogram.objects.all().delete()
    assert vitals.rebuild(START - timedelta(hours=1), END + timedelta(hours=1)) == 4
    after = list(WebVitalHistogram.objects.values_list("bucket", "count").order_by("bucket"))
    assert after == before


def test_long_ranges_read_whole_days_from_the_daily_rows_and_the_edges_hourly(flushed):
    """One sample every hour over four days; any range counts exactly the hours it covers."""
    first = datetime(2026, 11, 10, tzinfo=UTC)
    visitor = Visitor()
    store(
        visitor,
        *[("web_vital", first + timedelta(hours=h), "/", {"name": "CLS", "value": 0.05}) for h in range(96)],
    )
    flushed()
    assert WebVitalDailyHistogram.objects.filter(day=first.date()).get().count == 24
    for start, end in [
        (first + timedelta(hours=10), first + timedelta(days=2, hours=5, minutes=30)),  # 10:00 d1 … 05:00 d3
        (first, first + timedelta(days=3)),  # whole days only
        (first + timedelta(hours=3, minutes=20), first + timedelta(hours=9)),  # inside one day
        (first + timedelta(days=1), first + timedelta(days=3, hours=1)),
    ]:
        hours_covered = len(
            [h for h in range(96) if start.replace(minute=0) <= first + timedelta(hours=h) < end]
        )
        (page,) = selectors.web_vitals_p75(start, end)
        assert page["cls_samples"] == hours_covered, (start, end)


def test_whole_past_days_are_summed_once_then_read_from_the_cache(
    flushed, settings, django_assert_num_queries
):
    """Closed days do not change: a 30-day panel reads their summed histograms from the cache, and
    only the partial days at the edges from the database."""
    from django.core.cache import cache

    settings.ANALYTICS_VITALS_CLOSED_DAYS_CACHE_SECONDS = 3600
    first = datetime(2026, 11, 10, tzinfo=UTC)
    key = vitals.closed_days_cache_key(first + timedelta(days=1), first + timedelta(days=3), None)
    cache.delete(key)
    store(
        Visitor(),
        *[("web_vital", first + timedelta(hours=h), "/", {"name": "LCP", "value": 1800}) for h in range(96)],
    )
    flushed()
    start, end = first + timedelta(hours=5), first + timedelta(days=3, hours=7)
    with django_assert_num_queries(3):  # the closed days, then the two partial edge days
        (cold,) = selectors.web_vitals_p75(start, end)
    with django_assert_num_queries(2):  # the edges only
        (warm,) = selectors.web_vitals_p75(start, end)
    assert warm == cold and cold["lcp_samples"] == 96 - 5 - (24 - 7)
    assert cache.get(key) is not None
    cache.delete(key)
