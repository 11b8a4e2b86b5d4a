"""Web-vitals p75 per page from fixed-bucket histograms kept at ingestion time.

Each stored ``web_vital`` event adds 1 to its row of :class:`WebVitalHistogram` (hour × page × vital
× bucket × device type / browser / country / UTM source), in the transaction that stores the event
(:func:`add_stored_chunk`, registered with ``analytics.services.storage.on_stored`` in
analytics/apps.py), and the same per UTC day in :class:`WebVitalDailyHistogram`. The p75 of any
range and segment is then a ``SUM … GROUP BY path, name, bucket`` over the daily rows of the whole
days and the hourly rows of the partial days at the edges, whatever the number of events, followed
by a walk up the cumulative counts.

**Buckets and error bound.** Buckets are right-closed ``(edge[i-1], edge[i]]`` with edges growing
geometrically by ``RATIO`` (5 %) from ``FIRST_EDGE`` (1 ms for LCP/INP, 0.001 for CLS), and the
Core Web Vitals thresholds (LCP 2500/4000 ms, INP 200/500 ms, CLS 0.1/0.25) are edges too. The
p75 reported is the geometric middle of the bucket holding the nearest-rank 75th percentile (the
sample of rank ⌈0.75·n⌉, as CrUX reports it), so it is within a factor √1.05 of the exact value:
**relative error ≤ 2.47 %**, or at most ``FIRST_EDGE`` in absolute terms in the first bucket
(reported as 0.5 ms / 0.0005). Because every threshold is an edge, the rating ("good",
"needs-improvement", "poor") of the bucket is exactly the rating of the exact p75. The edges are
fixed: changing them would need the histograms rebuilt (:func:`rebuild`).
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet, Sum

from ...models import Event, EventType
from ...selectors import Segment
from ...services.storage import EVENT_COLUMNS, StoredChunk, write
from ...services.upserts import add_rows
from ...services.validation import VITAL_THRESHOLDS, vital_rating
from ..models import WebVitalDailyHistogram, WebVitalHistogram

#: The vitals the panel shows (FCP and TTFB are tracked but not bucketed).
PANEL_VITALS = ("LCP", "INP", "CLS")
RATIO = 1.05
FIRST_EDGE = {"LCP": 1.0, "INP": 1.0, "CLS": 0.001}
LAST_EDGE = {"LCP": 600_000.0, "INP": 600_000.0, "CLS": 100.0}
PERCENTILE = 0.75
#: Largest relative error of a reported p75 outside the first bucket.
RELATIVE_ERROR_BOUND = math.sqrt(RATIO) - 1
DIMENSIONS = ("path", "name", "bucket", "device_type", "browser", "country", "utm_source")
DAY = timedelta(days=1)


def _edges(name: str) -> tuple[float, ...]:
    edges: set[float] = set(VITAL_THRESHOLDS[name])
    edge = FIRST_EDGE[name]
    while edge < LAST_EDGE[name]:
        edges.add(float(f"{edge:.6g}"))
        edge *= RATIO
    edges.add(LAST_EDGE[name])
    return tuple(sorted(edges))


BUCKET_EDGES: dict[str, tuple[float, ...]] = {name: _edges(name) for name in PANEL_VITALS}


def bucket_of(name: str, value: float) -> int:
    """Index of the right-closed bucket holding ``value`` (values above the last edge share the last)."""
    edges = BUCKET_EDGES[name]
    return min(bisect_left(edges, value), len(edges) - 1)


def bucket_bounds(name: str, bucket: int) -> tuple[float, float]:
    edges = BUCKET_EDGES[name]
    return (edges[bucket - 1] if bucket > 0 else 0.0), edges[bucket]


def bucket_value(name: str, bucket: int) -> float:
    """The value reported for a bucket: its geometric middle (half the first edge for the first)."""
    low, high = bucket_bounds(name, bucket)
    return high / 2 if low == 0 else math.sqrt(low * high)


# --- writing (the ingestion hook) ---------------------------------------------------------------------


def histogram_counts(rows: Iterable[tuple], columns: tuple[str, ...]) -> Counter:
    """Histogram increments for stored event rows (tuples in ``columns`` order)."""
    at = {name: columns.index(name) for name in columns}
    counts: Counter = Counter()
    for row in rows:
        if row[at["type"]] != EventType.WEB_VITAL:
            continue
        props = row[at["props"]] or {}
        name, value = props.get("name"), props.get("value")
        if name not in BUCKET_EDGES or not isinstance(value, int | float):
            continue
        occurred: datetime = row[at["occurred_at"]]
        hour = occurred.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        key = (
            hour,
            row[at["path"]],
            name,
            bucket_of(name, value),
            row[at["device_type"]],
            row[at["browser"]],
            row[at["country"]],
            row[at["utm_source"]],
        )
        counts[key] += 1
    return counts


def add_events(rows: list[tuple], columns: tuple[str, ...]) -> int:
    """Add stored events' web vitals to the histograms (one ``INSERT … ON CONFLICT`` per table on PostgreSQL).
    Called in the transaction that stores the events (:func:`add_stored_chunk`) or rebuilds them."""
    counts = histogram_counts(rows, columns)
    if not counts:
        return 0
    add_rows(
        WebVitalHistogram._meta.db_table,
        ("hour", *DIMENSIONS),
        ("count",),
        [(*key, count) for key, count in counts.items()],
    )
    daily: Counter = Counter()
    for (hour, *dims), count in counts.items():
        daily[(hour.date(), *dims)] += count
    add_rows(
        WebVitalDailyHistogram._meta.db_table,
        ("day", *DIMENSIONS),
        ("count",),
        [(*key, count) for key, count in daily.items()],
    )
    return sum(counts.values())


def add_stored_chunk(chunk: StoredChunk) -> None:
    """The storage's in-transaction hook: stored web-vital events go into the histograms."""
    add_events(chunk.events, EVENT_COLUMNS)


def rebuild(start: datetime, end: datetime, *, chunk: int = 20_000) -> int:
    """Recompute the histograms of the UTC days covering ``[start, end)`` from the raw events (after a
    change of edges, or for events stored before the histograms existed). Replaces those days' rows."""
    columns = ("occurred_at", "type", "path", "device_type", "browser", "country", "utm_source", "props")

    start, end = _day_start(start), _day_start(end - timedelta(microseconds=1)) + DAY  # whole days

    def work() -> int:
        WebVitalHistogram.objects.filter(hour__gte=start, hour__lt=end).delete()
        WebVitalDailyHistogram.objects.filter(day__gte=start.date(), day__lt=end.date()).delete()
        events = (
            Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end, type=EventType.WEB_VITAL)
            .values_list(*columns)
            .order_by()
        )
        added, batch = 0, []
        for row in events.iterator(chunk_size=chunk):
            batch.append(row)
            if len(batch) >= chunk:
                added += add_events(batch, columns)
                batch = []
        return added + add_events(batch, columns)

    return write(work)


# --- reading --------------------------------------------------------------------------------------------


def p75_from_counts(name: str, counts: dict[int, int]) -> float | None:
    """The nearest-rank 75th percentile of a histogram (bucket → count), as its bucket's middle."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = math.ceil(PERCENTILE * total)
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket_value(name, bucket)
    return None  # unreachable


def bucket_rating(name: str, counts: dict[int, int]) -> str | None:
    """The rating of the p75 bucket (exact: thresholds are bucket edges)."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank, seen = math.ceil(PERCENTILE * total), 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return vital_rating(name, bucket_bounds(name, bucket)[1])
    return None


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _grouped(rows: QuerySet, segment: Segment | None) -> list[tuple[str, str, int, int]]:
    """(path, vital, bucket, count) summed over ``rows``, for the segment."""
    if segment:
        rows = rows.filter(**segment.as_filter())
    return list(rows.values_list("path", "name", "bucket").annotate(n=Sum("count")).order_by())


def closed_days_cache_key(first_day: datetime, last_day: datetime, segment: Segment | None) -> str:
    scope = sorted(segment.as_filter().items()) if segment else []
    digest = hashlib.sha256(f"{first_day.date()}|{last_day.date()}|{scope}".encode()).hexdigest()[:32]
    return f"analytics:vitals:closed-days:{digest}"


def _closed_days(first_day: datetime, last_day: datetime, segment: Segment | None) -> list[tuple]:
    """The daily histograms of whole past UTC days, summed. Those days are closed (only a rare late
    beacon still adds to them), so the sum is kept in the cache for
    ``ANALYTICS_VITALS_CLOSED_DAYS_CACHE_SECONDS``: a 30-day panel over millions of samples then costs
    one cache read instead of a scan of a few hundred thousand histogram rows."""
    rows = WebVitalDailyHistogram.objects.filter(day__gte=first_day.date(), day__lt=last_day.date())
    seconds = settings.ANALYTICS_VITALS_CLOSED_DAYS_CACHE_SECONDS
    if seconds <= 0:
        return _grouped(rows, segment)
    key = closed_days_cache_key(first_day, last_day, segment)
    found = cache.get(key)
    if found is None:
        found = _grouped(rows, segment)
        cache.set(key, found, seconds)
    return found


def _histogram_sums(start: datetime, end: datetime, segment: Segment | None) -> list[list[tuple]]:
    """Whole UTC days from the daily table (cached: they are closed), the partial days at the edges
    from the hourly one (from the hour holding ``start`` to ``end``)."""
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end = end.astimezone(UTC)
    first_day = (
        _day_start(first_hour) if first_hour == _day_start(first_hour) else _day_start(first_hour) + DAY
    )
    last_day = _day_start(end)  # days before this one end by ``end``
    if first_day >= last_day:
        return [_grouped(WebVitalHistogram.objects.filter(hour__gte=first_hour, hour__lt=end), segment)]
    return [
        _closed_days(first_day, last_day, segment),
        _grouped(WebVitalHistogram.objects.filter(hour__gte=first_hour, hour__lt=first_day), segment),
        _grouped(WebVitalHistogram.objects.filter(hour__gte=last_day, hour__lt=end), segment),
    ]


def web_vitals_p75(start: datetime, end: datetime, segment: Segment | None = None) -> list[dict[str, Any]]:
    """p75 of LCP, INP and CLS per page, busiest first, for the hours from the one holding ``start``
    up to ``end`` (exclusive)."""
    histograms: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for sums in _histogram_sums(start, end, segment):
        for path, name, bucket, n in sums:
            counts = histograms[path][name]
            counts[bucket] = counts.get(bucket, 0) + n
    pages = []
    for path, by_vital in histograms.items():
        page: dict[str, Any] = {"path": path, "samples": 0}
        for name, key, unit in (("LCP", "lcp", "_ms"), ("INP", "inp", "_ms"), ("CLS", "cls", "")):
            counts = by_vital.get(name, {})
            value = p75_from_counts(name, counts)
            if value is not None:
                value = round(value, 1) if unit else round(value, 4)
            page[f"{key}_p75{unit}"] = value
            page[f"{key}_rating"] = bucket_rating(name, counts)
            page[f"{key}_samples"] = sum(counts.values())
        page["samples"] = max(page["lcp_samples"], page["inp_samples"], page["cls_samples"])
        pages.append(page)
    pages.sort(key=lambda page: (-page["samples"], page["path"]))
    return pages
